"""Refusals a person can act on, raised by the domain services and worded in prompts/.

A domain service knows what went wrong, not how the bot words it: it raises
`IntentError("intent.errors.save_needs_outcome")` and the Slack layer shows
`exc.text(services.prompts)`, so every sentence a user reads lives in prompts/*.toml.
`str(exc)` gives the default wording, for logs, the CLI and tests.
"""

from __future__ import annotations

from functools import cache

from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR


@cache
def _default_prompts() -> Prompts:
    return Prompts(DEFAULT_PROMPTS_DIR)


class UserError(Exception):
    """`key` is the dotted name of the text in prompts/ (`file.section.name`); `values` fill
    its placeholders."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def text(self, prompts: Prompts) -> str:
        return prompts.text(self.key, **self.values)

    def __str__(self) -> str:
        return self.text(_default_prompts())
