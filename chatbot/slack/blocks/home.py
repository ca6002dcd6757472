"""App Home: my open intents and unverified checks, plus sections other domains add."""

from __future__ import annotations

from typing import Any

from chatbot.intent.service import IntentView
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, actions, button, divider, header, section
from chatbot.slack.blocks.intent import _status
from chatbot.slack.ids import HomeId, IntentId
from chatbot.slack.text import mrkdwn

HOME_MAX_BLOCKS = 100


def home_view(
    prompts: Prompts,
    mine: list[IntentView],
    extra: list[list[Block]],
    jira_url: str | None = None,
) -> dict[str, Any]:
    def t(name: str, **values: object) -> str:
        return prompts.text(f"intent.home.{name}", **values)

    blocks: list[Block] = [
        header(t("title")),
        actions(
            button(t("settings"), HomeId.SETUP, "setup"),
            button(t("new_intent"), HomeId.NEW_INTENT, "new", style="primary"),
        ),
    ]
    blocks.append(section(t("mine") if mine else t("mine_empty")))
    for view in mine[:10]:
        open_checks = [c for c in view.checks if c.verified_at is None]
        line = t(
            "line",
            intent_ref=view.ref,
            title=mrkdwn(view.intent.title, 400, jira_url),
            status=_status(view),
            verified=view.verified_count,
            total=len(view.checks),
        )
        blocks.append(section(line, button(t("show"), IntentId.SHOW, str(view.intent.id))))
        for n, check in enumerate(open_checks[:3], 1):
            blocks.append(
                section(
                    f"☐ {mrkdwn(check.text, 500, jira_url)}",
                    button(t("verify"), IntentId.VERIFY_CHECK, str(check.id)),
                    block_id=f"home_check_{check.id}_{n}",
                )
            )
    for part in extra:
        if part and len(blocks) + len(part) + 1 <= HOME_MAX_BLOCKS:
            blocks.append(divider())
            blocks += part
    return {"type": "home", "blocks": blocks[:HOME_MAX_BLOCKS]}
