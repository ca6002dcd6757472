"""Posts what an agent wrote: the proposed decision's card, progress and evidence in threads.

The proposed decision's card is owed through the outbox like a person's decision card: stored
in the transaction that stores the decision, sent once when Slack answers, its ts saved on
the decision when it is sent (the decision flow's steps), rendered at send time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from chatbot.agents.service import ThreadNote
from chatbot.decisions.models import Decision
from chatbot.decisions.service import DecisionService, decision_ref
from chatbot.outbox.store import Enqueued
from chatbot.prompts import Prompts
from chatbot.slack.blocks.agent import (
    evidence_blocks,
    progress_text,
    proposed_card,
    proposed_fallback,
)
from chatbot.slack.decision_flow import CARD_POSTED, CARD_REFUSED
from chatbot.slack.owed import Message, Sent, SlackOutbox, Step

PROPOSED_CARD = "agent.proposed_card"


class OwedCard:
    """One proposal's card: `store` owes it in the decision's transaction (the hook the
    domain service runs), `send` posts it once that has committed."""

    def __init__(self, outbox: SlackOutbox, agent: str, user_id: str) -> None:
        self.outbox = outbox
        self.agent = agent
        self.user_id = user_id
        self.owed: Enqueued | None = None

    def store(self, conn: Connection, d: Decision) -> None:
        decision_id = d.id or 0
        card = Message(
            d.channel_id,
            render=Step(PROPOSED_CARD, {"decision_id": decision_id, "agent": self.agent}),
            then=Step(CARD_POSTED, {"decision_id": decision_id, "channel": d.channel_id}),
            # A refusal for good is told to the person in their DM, as for their own card.
            refused=Step(
                CARD_REFUSED,
                {
                    "decision_id": decision_id,
                    "channel": d.channel_id,
                    "user": self.user_id,
                    "response_url": None,
                },
            ),
            tell=self.user_id,
            about=decision_ref(d.id),
        )
        self.owed = self.outbox.owe_in(conn, card, claim=True)

    def send(self) -> Sent:
        """What became of the card: posted (`ok`), refused (`error`), or waiting for Slack."""
        if self.owed is None:
            return Sent(0, error="not_owed")
        return self.outbox.send_claimed(self.owed)


class SlackAgentPoster:
    def __init__(
        self,
        prompts: Prompts,
        decisions: DecisionService,
        outbox: SlackOutbox,
        jira_url: str | None = None,
    ) -> None:
        self.prompts = prompts
        self.decisions = decisions
        self.outbox = outbox
        self.jira_url = jira_url
        # Registered by the composition root in every process, so whichever process's clock
        # sends a card owed during an outage can render it.
        outbox.renderer(PROPOSED_CARD, self._render)

    def proposal(self, agent: str, user_id: str) -> OwedCard:
        return OwedCard(self.outbox, agent, user_id)

    def _render(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None] | None:
        d = self.decisions.get(int(args["decision_id"]))
        if d is None:
            return None
        agent = str(args.get("agent") or d.via_agent or "")
        blocks = proposed_card(self.prompts, d, agent, self.jira_url)
        return proposed_fallback(self.prompts, d, agent), blocks

    def note(self, note: ThreadNote, user_id: str) -> Sent:
        """Progress or evidence in the intent's thread, owed through the outbox (in order
        with the thread's other replies); what became of it."""
        if note.check_id is None or note.check_number is None:
            text = progress_text(self.prompts, user_id, note.agent, note.text)
            return self.outbox.say(Message(note.channel_id, text, thread_ts=note.thread_ts))
        check = note.intent.checks[note.check_number - 1].text
        blocks = evidence_blocks(
            self.prompts, user_id, note.agent, note.check_number, check, note.text, note.check_id
        )
        text = self.prompts.text("agents.evidence_verify", number=note.check_number)
        return self.outbox.say(Message(note.channel_id, text, blocks, thread_ts=note.thread_ts))
