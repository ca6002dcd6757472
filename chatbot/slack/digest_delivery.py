"""The digest and check-in sent through Slack: every message through `post()`, so each one
gets the Block Kit check, and every refusal comes back as `SendFailed` with Slack's code."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.digest.chart import chart_alt_text
from chatbot.digest.delivery import CheckInQuestion, SendFailed
from chatbot.prompts import Prompts
from chatbot.slack.blocks.checkin import checkin_blocks
from chatbot.slack.blocks.digest import digest_blocks, digest_fallback, leader_dm_blocks
from chatbot.slack.post import post, refusal_of

log = logging.getLogger(__name__)
ALT_TEXT_MAX = 1000


class SlackDigestDelivery:
    def __init__(self, client: WebClient, prompts: Prompts) -> None:
        self.client = client
        self.prompts = prompts

    def digest_message(self, digest: dict[str, Any]) -> dict[str, Any]:
        return {
            "text": digest_fallback(digest, self.prompts),
            "blocks": digest_blocks(digest, self.prompts),
        }

    def post(self, channel: str, message: dict[str, Any]) -> str:
        return self._send(channel, str(message.get("text", "")), message.get("blocks"))

    def post_chart(
        self, channel: str, thread_ts: str, png: bytes, week: str, digest: dict[str, Any]
    ) -> None:
        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                file=png,
                filename=f"digest-{week}.png",
                title=self.prompts.text("digest.digest.chart_comment"),
                alt_txt=chart_alt_text(digest, self.prompts)[:ALT_TEXT_MAX],
                request_file_info=False,
            )
        except SlackApiError as exc:
            raise SendFailed(*refusal_of(exc)) from None
        except OSError as exc:
            raise SendFailed("connection_error") from exc

    def leader_dm(self, leader: str, digest: dict[str, Any], channel: str) -> None:
        self._send(
            leader,
            digest_fallback(digest, self.prompts),
            leader_dm_blocks(digest, self.prompts, channel),
        )

    def tell(self, person: str, text: str) -> None:
        self._send(person, text, None)

    def checkin_dm(self, user: str, question: CheckInQuestion) -> None:
        blocks = checkin_blocks(
            question.team_name,
            question.team_id,
            question.week,
            self.prompts,
            question.orchestration,
            question.interrupts,
            note=question.note,
        )
        text = self.prompts.text(
            "digest.checkin.fallback", team=question.team_name, week=question.week
        )
        self._send(user, text, blocks)

    def _send(self, channel: str, text: str, blocks: list[dict[str, Any]] | None) -> str:
        try:
            sent = post(self.client, channel, text, blocks)
        except OSError as exc:
            log.warning("Slack could not be reached: %s", type(exc).__name__)
            raise SendFailed("connection_error") from exc
        if not sent.ok:
            raise SendFailed(sent.error or "unknown_error", sent.retry_after)
        return str(sent.ts)
