"""What the digest and the check-in need from a chat service, and nothing more.

The digest domain decides what is sent, when, and how often; an adapter (the Slack one is
`chatbot.slack.digest_delivery`) renders and sends it. A refusal is a `SendFailed` with the
service's error code, so the retry rules stay here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class SendFailed(Exception):
    def __init__(self, error: str, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class CheckInQuestion:
    """One person's check-in DM: the week, their current answers, an optional reminder note."""

    team_name: str
    team_id: int
    week: str
    orchestration: float | None
    interrupts: float | None
    note: str | None = None


@dataclass(frozen=True)
class SendMark:
    """What a sent message carries so that a retry after a crash can find it instead of
    sending it again (in Slack: the message's metadata). `kind` names the kind of message
    (`throughline_digest`, …), `key` the claim that sent it."""

    kind: str
    key: str


class DigestDelivery(Protocol):
    def digest_message(self, digest: dict[str, Any]) -> dict[str, Any]:
        """The channel message for a digest, as it is stored and posted."""
        ...

    def post(self, channel: str, message: dict[str, Any], mark: SendMark) -> str:
        """Post a stored message; returns its id (Slack's ts)."""
        ...

    def post_chart(
        self, channel: str, thread_ts: str, png: bytes, week: str, digest: dict[str, Any]
    ) -> None: ...

    def leader_dm(self, leader: str, digest: dict[str, Any], channel: str, mark: SendMark) -> str:
        """DM the digest to a leader; returns the message's id."""
        ...

    def tell(self, person: str, text: str, mark: SendMark) -> str: ...

    def checkin_dm(self, user: str, question: CheckInQuestion, mark: SendMark) -> str: ...

    def find_sent(self, where: str, mark: SendMark, since: datetime) -> str | None:
        """The id of a message carrying `mark` sent to `where` (a channel, or a person's DM)
        since `since`; None when there is none. Raises `SendFailed` when it cannot look."""
        ...

    def chart_posted(self, channel: str, thread_ts: str, week: str) -> bool:
        """Whether the week's chart is in the digest's thread already."""
        ...
