"""The Friday check-in DM in Block Kit: two selects (orchestration and interrupt shares),
one tap each; the answer is saved on every change."""

from __future__ import annotations

from typing import Any

from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, context, plain, section
from chatbot.slack.ids import DigestId
from chatbot.slack.text import escape

SHARE_STEPS = tuple(range(0, 101, 10))


def _share_select(
    action_id: str, value_prefix: str, chosen: float | None, prompts: Prompts
) -> dict[str, Any]:
    options = [{"text": plain(f"{pct}%"), "value": f"{value_prefix}|{pct}"} for pct in SHARE_STEPS]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(prompts.text("digest.checkin.placeholder")),
        "options": options,
    }
    if chosen is not None:
        pct = int(round(chosen * 10)) * 10
        element["initial_option"] = options[min(max(pct // 10, 0), 10)]
    return element


def checkin_blocks(
    team: str,
    team_id: int,
    week: str,
    prompts: Prompts,
    orchestration: float | None = None,
    interrupts: float | None = None,
    note: str | None = None,
) -> list[Block]:
    """Two selects, one tap each; the answer is saved on every change."""
    prefix = f"{team_id}|{week}"
    blocks: list[Block] = [
        section(prompts.text("digest.checkin.intro", team=escape(team), week=week)),
        section(
            prompts.text("digest.checkin.orchestration"),
            _share_select(DigestId.CHECKIN_ORCHESTRATION, prefix, orchestration, prompts),
            block_id="checkin_orchestration",
        ),
        section(
            prompts.text("digest.checkin.interrupts"),
            _share_select(DigestId.CHECKIN_INTERRUPTS, prefix, interrupts, prompts),
            block_id="checkin_interrupts",
        ),
    ]
    if note:
        blocks.append(context(note))
    return blocks
