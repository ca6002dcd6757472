"""Refusals a person can act on, raised by the domain services and worded in prompts/.

A domain service knows what went wrong, not how the bot words it: it raises
`IntentError("intent.errors.save_needs_outcome")` and the Slack layer shows
`exc.text(services.prompts)`, so every sentence a user reads lives in prompts/*.toml.
`str(exc)` gives the default wording, for logs, the CLI and tests.
"""

from __future__ import annotations

from chatbot.prompts import Prompts, default_prompts


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
        return self.text(default_prompts())
