"""App Home: my open intents and unverified checks, plus sections other domains add."""

from __future__ import annotations

from typing import Any

from chatbot.intent.service import IntentView
from chatbot.slack.blocks import Block, actions, button, divider, header, section
from chatbot.slack.blocks.intent import _status
from chatbot.slack.ids import HomeId, IntentId
from chatbot.slack.text import mrkdwn

HOME_MAX_BLOCKS = 100


def home_view(
    mine: list[IntentView], extra: list[list[Block]], jira_url: str | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [
        header("Throughline"),
        actions(
            button("Settings", HomeId.SETUP, "setup"),
            button("New intent", HomeId.NEW_INTENT, "new", style="primary"),
        ),
    ]
    blocks.append(
        section(
            "*My open intents*"
            if mine
            else "*My open intents*\n_None. Start one with `/intent <title>`._"
        )
    )
    for view in mine[:10]:
        open_checks = [c for c in view.checks if c.verified_at is None]
        line = (
            f"*{view.ref}* {mrkdwn(view.intent.title, 400, jira_url)} · {_status(view)} · "
            f"{view.verified_count}/{len(view.checks)} verified"
        )
        blocks.append(section(line, button("Show", IntentId.SHOW, str(view.intent.id))))
        for n, check in enumerate(open_checks[:3], 1):
            blocks.append(
                section(
                    f"☐ {mrkdwn(check.text, 500, jira_url)}",
                    button("Verify", IntentId.VERIFY_CHECK, str(check.id)),
                    block_id=f"home_check_{check.id}_{n}",
                )
            )
    for part in extra:
        if part and len(blocks) + len(part) + 1 <= HOME_MAX_BLOCKS:
            blocks.append(divider())
            blocks += part
    return {"type": "home", "blocks": blocks[:HOME_MAX_BLOCKS]}
