"""Writes a benchmark's table into docs/performance.md (or another page) between
`<!-- bench:NAME -->` markers; the README only links to that page."""

from __future__ import annotations

import re
from pathlib import Path

PERFORMANCE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(name: str, markdown: str, path: Path = PERFORMANCE_PAGE) -> None:
    """Replaces (or appends) the block `name` in `path` (docs/performance.md unless told)."""
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
