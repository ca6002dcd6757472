"""A tiny document model for what the bot writes into Jira, rendered per deployment.

Cloud's REST v3 wants Atlassian Document Format; Data Center's v2 wants wiki markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Heading:
    text: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Checklist:
    items: list[tuple[bool, str]]  # (verified, text)


@dataclass
class Link:
    text: str
    url: str
    before: str = ""


Block = Heading | Paragraph | Bullets | Checklist | Link


@dataclass
class Doc:
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> Doc:
        self.blocks.append(block)
        return self


# --- ADF (Cloud) -------------------------------------------------------------------------
def _text(text: str) -> list[dict[str, Any]]:
    """Text nodes with hard breaks: ADF text may not carry newlines itself."""
    nodes: list[dict[str, Any]] = []
    for n, line in enumerate(text.split("\n")):
        if n:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append({"type": "text", "text": line})
    return nodes


def _para(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": _text(text)}


def _list(items: list[str]) -> dict[str, Any]:
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [_para(item)]} for item in items],
    }


def to_adf(doc: Doc) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            content.append({"type": "heading", "attrs": {"level": 3}, "content": _text(block.text)})
        elif isinstance(block, Paragraph):
            content += [_para(line) for line in block.text.split("\n\n") if line.strip()] or []
        elif isinstance(block, Bullets):
            if block.items:
                content.append(_list(block.items))
        elif isinstance(block, Checklist):
            if block.items:
                content.append(
                    _list([f"{'☑' if done else '☐'} {text}" for done, text in block.items])
                )
        elif isinstance(block, Link):
            content.append(
                {
                    "type": "paragraph",
                    "content": _text(block.before)
                    + [
                        {
                            "type": "text",
                            "text": block.text,
                            "marks": [{"type": "link", "attrs": {"href": block.url}}],
                        }
                    ],
                }
            )
    return {"type": "doc", "version": 1, "content": content or [_para(" ")]}


# --- wiki markup (Data Center) -----------------------------------------------------------
_WIKI_SPECIAL = re.compile(r"([{}\[\]*_+^~|!]|^[#-]|--)", re.MULTILINE)


def _wiki_escape(text: str) -> str:
    """Keep typed text literal: wiki markup would turn `*x*` bold and `[x]` into links.

    Hyphens stay as they are inside words so `PAY-123` still links in Jira.
    """
    return _WIKI_SPECIAL.sub(lambda m: "".join("\\" + ch for ch in m.group(1)), text)


def to_wiki(doc: Doc) -> str:
    out: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"h3. {_wiki_escape(block.text)}")
        elif isinstance(block, Paragraph):
            out.append(_wiki_escape(block.text))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"* {_wiki_escape(i)}" for i in block.items))
        elif isinstance(block, Checklist):
            out.append(
                "\n".join(
                    f"* {'(/)' if done else '☐'} {_wiki_escape(t)}" for done, t in block.items
                )
            )
        elif isinstance(block, Link):
            out.append(f"{_wiki_escape(block.before)}[{_wiki_escape(block.text)}|{block.url}]")
    return "\n\n".join(part for part in out if part)
