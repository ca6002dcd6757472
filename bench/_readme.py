"""Writes a benchmark's table into README.md (or a page of docs/) between `<!-- bench:NAME -->`
markers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def write_section(name: str, markdown: str, path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text:
        text = re.sub(
            re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
