"""Reading what a person typed or chose in a submitted modal."""

from __future__ import annotations

from typing import Any


def input_value(values: dict[str, Any], block_id: str) -> str | None:
    """The typed (or chosen) value of one input, or None when the block was not in the form."""
    if block_id not in values:
        return None
    element = values[block_id].get("value") or {}
    value = element.get("value")
    if value is None:
        value = (element.get("selected_option") or {}).get("value")
    if value is None:
        value = element.get("selected_conversation")
    return (value or "").strip()
