"""The digest and check-in sent through Slack: every message through `post()`, so each one
gets the Block Kit check, and every refusal comes back as `SendFailed` with Slack's code.

Each message carries its `SendMark` as Slack message metadata, and `find_sent` looks for it
(`conversations.history` with `include_all_metadata`), so a retry after a crash adopts a
message Slack had accepted instead of posting it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.digest.chart import chart_alt_text
from chatbot.digest.delivery import CheckInQuestion, SendFailed, SendMark
from chatbot.prompts import Prompts
from chatbot.slack.blocks.checkin import checkin_blocks
from chatbot.slack.blocks.digest import digest_blocks, digest_fallback, leader_dm_blocks
from chatbot.slack.post import post, refusal_of

log = logging.getLogger(__name__)
ALT_TEXT_MAX = 1000
# Looking for a sent message reads this many messages a page, at most this many pages: far
# more than a channel sees between a crash and the stale-claim retry.
HISTORY_PAGE = 200
HISTORY_PAGES = 10


class SlackDigestDelivery:
    def __init__(self, client: WebClient, prompts: Prompts) -> None:
        self.client = client
        self.prompts = prompts

    def digest_message(self, digest: dict[str, Any]) -> dict[str, Any]:
        return {
            "text": digest_fallback(digest, self.prompts),
            "blocks": digest_blocks(digest, self.prompts),
        }

    def post(self, channel: str, message: dict[str, Any], mark: SendMark) -> str:
        return self._send(channel, str(message.get("text", "")), message.get("blocks"), mark)

    def post_chart(
        self, channel: str, thread_ts: str, png: bytes, week: str, digest: dict[str, Any]
    ) -> None:
        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                file=png,
                filename=_chart_name(week),
                title=self.prompts.text("digest.digest.chart_comment"),
                alt_txt=chart_alt_text(digest, self.prompts)[:ALT_TEXT_MAX],
                request_file_info=False,
            )
        except SlackApiError as exc:
            raise SendFailed(*refusal_of(exc)) from None
        except OSError as exc:
            raise SendFailed("connection_error") from exc

    def leader_dm(self, leader: str, digest: dict[str, Any], channel: str, mark: SendMark) -> str:
        return self._send(
            leader,
            digest_fallback(digest, self.prompts),
            leader_dm_blocks(digest, self.prompts, channel),
            mark,
        )

    def tell(self, person: str, text: str, mark: SendMark) -> str:
        return self._send(person, text, None, mark)

    def checkin_dm(self, user: str, question: CheckInQuestion, mark: SendMark) -> str:
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
        return self._send(user, text, blocks, mark)

    def find_sent(self, where: str, mark: SendMark, since: datetime) -> str | None:
        try:
            channel = self._conversation_of(where)
            cursor: str | None = None
            for _page in range(HISTORY_PAGES):
                resp = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                )
                for message in resp.get("messages") or []:
                    if _carries(message, mark):
                        return str(message["ts"])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return None
        except SlackApiError as exc:
            raise SendFailed(*refusal_of(exc)) from None
        except OSError as exc:
            raise SendFailed("connection_error") from exc
        log.warning(
            "%s not among %s pages of history in %s; sending it", mark.key, HISTORY_PAGES, where
        )
        return None

    def chart_posted(self, channel: str, thread_ts: str, week: str) -> bool:
        name = _chart_name(week)
        try:
            resp = self.client.conversations_replies(
                channel=channel, ts=thread_ts, limit=HISTORY_PAGE
            )
        except SlackApiError as exc:
            raise SendFailed(*refusal_of(exc)) from None
        except OSError as exc:
            raise SendFailed("connection_error") from exc
        return any(
            f.get("name") == name
            for message in resp.get("messages") or []
            for f in message.get("files") or []
        )

    def _conversation_of(self, where: str) -> str:
        """A person's DM with the bot is a conversation of its own (D…); a message posted to
        the person's id lands there, and only that id has a history."""
        if not where.startswith(("U", "W")):
            return where
        opened = self.client.conversations_open(users=where)
        return str((opened.get("channel") or {}).get("id") or where)

    def _send(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None, mark: SendMark
    ) -> str:
        metadata = {"event_type": mark.kind, "event_payload": {"key": mark.key}}
        try:
            sent = post(self.client, channel, text, blocks, metadata=metadata)
        except OSError as exc:
            log.warning("Slack could not be reached: %s", type(exc).__name__)
            raise SendFailed("connection_error") from exc
        if not sent.ok:
            raise SendFailed(sent.error or "unknown_error", sent.retry_after)
        return str(sent.ts)


def _chart_name(week: str) -> str:
    return f"digest-{week}.png"


def _carries(message: dict[str, Any], mark: SendMark) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == mark.kind and payload.get("key") == mark.key
