"""Block Kit limits. Every message the bot posts is checked here before it is sent
(`chatbot.slack.post`); views are checked by the tests (`tests/test_block_kit_limits.py`).

Slack answers `invalid_blocks` when a limit is broken; `problems()` finds those before Slack does.
"""

from __future__ import annotations

from typing import Any

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
SECTION_FIELDS_MAX = 10
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
BLOCK_ID_MAX = 255
URL_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTIONS_MAX = 100
INPUT_LABEL_MAX = 2000
HINT_MAX = 2000
PLACEHOLDER_MAX = 150
TEXT_INPUT_MAX = 3000
VIEW_TITLE_MAX = 24
VIEW_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255
MESSAGE_TEXT_MAX = 40000
RICH_TEXT_MAX = 4000


def _text_len(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(str(obj.get("text", "")))
    return len(str(obj or ""))


def _check_text(obj: Any, limit: int, where: str, out: list[str]) -> None:
    if obj is None:
        return
    if isinstance(obj, dict):
        if obj.get("type") not in {"plain_text", "mrkdwn"}:
            out.append(f"{where}: text object of unknown type {obj.get('type')!r}")
        if not str(obj.get("text", "")):
            out.append(f"{where}: empty text")
    length = _text_len(obj)
    if length > limit:
        out.append(f"{where}: {length} characters > {limit}")


def _check_element(el: dict[str, Any], where: str, out: list[str]) -> None:
    kind = el.get("type")
    if "action_id" in el and len(str(el["action_id"])) > ACTION_ID_MAX:
        out.append(f"{where}.action_id too long")
    if kind == "button":
        _check_text(el.get("text"), BUTTON_TEXT_MAX, f"{where}.text", out)
        if len(str(el.get("value", ""))) > BUTTON_VALUE_MAX:
            out.append(f"{where}.value > {BUTTON_VALUE_MAX}")
        if len(str(el.get("url", ""))) > URL_MAX:
            out.append(f"{where}.url > {URL_MAX}")
        if el.get("style") not in (None, "primary", "danger"):
            out.append(f"{where}.style invalid")
    elif kind in {
        "static_select",
        "multi_static_select",
        "overflow",
        "radio_buttons",
        "checkboxes",
    }:
        options = el.get("options") or []
        for group in el.get("option_groups") or []:
            options = options + list(group.get("options") or [])
        limit = (
            5
            if kind == "overflow"
            else (10 if kind in {"radio_buttons", "checkboxes"} else OPTIONS_MAX)
        )
        if len(options) > limit:
            out.append(f"{where}: {len(options)} options > {limit}")
        for j, opt in enumerate(options):
            _check_text(opt.get("text"), OPTION_TEXT_MAX, f"{where}.options[{j}].text", out)
            if len(str(opt.get("value", ""))) > OPTION_VALUE_MAX:
                out.append(f"{where}.options[{j}].value > {OPTION_VALUE_MAX}")
    elif kind == "plain_text_input":
        if int(el.get("max_length", 0) or 0) > TEXT_INPUT_MAX:
            out.append(f"{where}.max_length > {TEXT_INPUT_MAX}")
        if len(str(el.get("initial_value", ""))) > TEXT_INPUT_MAX:
            out.append(f"{where}.initial_value > {TEXT_INPUT_MAX}")
    if "placeholder" in el:
        _check_text(el["placeholder"], PLACEHOLDER_MAX, f"{where}.placeholder", out)


def _check_block(block: dict[str, Any], where: str, out: list[str]) -> None:
    kind = block.get("type")
    if "block_id" in block and len(str(block["block_id"])) > BLOCK_ID_MAX:
        out.append(f"{where}.block_id too long")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            out.append(f"{where}: section needs text or fields")
        _check_text(block.get("text"), SECTION_TEXT_MAX, f"{where}.text", out)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS_MAX:
            out.append(f"{where}: {len(fields)} fields > {SECTION_FIELDS_MAX}")
        for j, field in enumerate(fields):
            _check_text(field, FIELD_TEXT_MAX, f"{where}.fields[{j}]", out)
        if block.get("accessory"):
            _check_element(block["accessory"], f"{where}.accessory", out)
    elif kind == "header":
        _check_text(block.get("text"), HEADER_TEXT_MAX, f"{where}.text", out)
        if (block.get("text") or {}).get("type") != "plain_text":
            out.append(f"{where}: header text must be plain_text")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENTS_MAX:
            out.append(f"{where}: {len(elements)} context elements (1..{CONTEXT_ELEMENTS_MAX})")
        for j, el in enumerate(elements):
            if el.get("type") in {"mrkdwn", "plain_text"}:
                _check_text(el, SECTION_TEXT_MAX, f"{where}.elements[{j}]", out)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > ACTIONS_ELEMENTS_MAX:
            out.append(f"{where}: {len(elements)} action elements (1..{ACTIONS_ELEMENTS_MAX})")
        for j, el in enumerate(elements):
            _check_element(el, f"{where}.elements[{j}]", out)
    elif kind == "input":
        _check_text(block.get("label"), INPUT_LABEL_MAX, f"{where}.label", out)
        if "hint" in block:
            _check_text(block["hint"], HINT_MAX, f"{where}.hint", out)
        if not block.get("element"):
            out.append(f"{where}: input needs an element")
        else:
            _check_element(block["element"], f"{where}.element", out)
    elif kind == "rich_text":
        total = sum(len(str(e)) for e in block.get("elements") or [])
        if total > RICH_TEXT_MAX * 3:
            out.append(f"{where}: rich_text too large")
    elif kind not in {"divider", "image", "file", "video", "markdown"}:
        out.append(f"{where}: unknown block type {kind!r}")


def problems(blocks: list[dict[str, Any]] | None, surface: str = "message") -> list[str]:
    """Every Block Kit limit these blocks break (empty list when they are fine)."""
    out: list[str] = []
    blocks = blocks or []
    limit = MESSAGE_MAX_BLOCKS if surface == "message" else VIEW_MAX_BLOCKS
    if len(blocks) > limit:
        out.append(f"{len(blocks)} blocks > {limit} for a {surface}")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            out.append(f"blocks[{i}] is not an object")
            continue
        block_id = block.get("block_id")
        if block_id:
            if block_id in seen_ids:
                out.append(f"blocks[{i}]: duplicate block_id {block_id!r}")
            seen_ids.add(block_id)
        _check_block(block, f"blocks[{i}]", out)
    return out


def view_problems(view: dict[str, Any]) -> list[str]:
    out = problems(view.get("blocks"), surface=view.get("type", "modal"))
    for key in ("title", "submit", "close"):
        if key in view:
            _check_text(view[key], VIEW_TITLE_MAX if key == "title" else VIEW_BUTTON_MAX, key, out)
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_MAX:
        out.append(f"private_metadata > {PRIVATE_METADATA_MAX}")
    if len(str(view.get("callback_id", ""))) > CALLBACK_ID_MAX:
        out.append(f"callback_id > {CALLBACK_ID_MAX}")
    has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
    if view.get("type") == "modal" and has_input and "submit" not in view:
        out.append("modal with inputs needs a submit button")
    return out


def message_problems(text: str | None, blocks: list[dict[str, Any]] | None) -> list[str]:
    out = problems(blocks, "message")
    if text and len(text) > MESSAGE_TEXT_MAX:
        out.append(f"text {len(text)} > {MESSAGE_TEXT_MAX}")
    if not text and not blocks:
        out.append("message needs text or blocks")
    return out
