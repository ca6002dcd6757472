"""Every text the bot asks or coaches with lives in `prompts/*.toml`, loaded once at start."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

# The project's own texts; PROMPTS_DIR (Settings.prompts_dir) points elsewhere.
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class Prompts:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._data: dict[str, Any] = {}
        for path in sorted(directory.glob("*.toml")):
            with path.open("rb") as fh:
                self._data[path.stem] = tomllib.load(fh)

    def get(self, dotted: str) -> Any:
        node: Any = self._data
        for part in dotted.split("."):
            node = node[part]
        return node

    def text(self, dotted: str, **values: object) -> str:
        template = self.get(dotted)
        return template.format(**values) if values else template


@cache
def default_prompts() -> Prompts:
    """The project's prompts/, for code that holds no `Prompts` (a refusal's text, the demo's
    chart, benchmarks)."""
    return Prompts(DEFAULT_PROMPTS_DIR)
