"""Posts what an agent wrote: the proposed decision's card, progress and evidence in threads."""

from __future__ import annotations

from slack_sdk import WebClient

from chatbot.agents.service import ProposedDecision, ThreadNote
from chatbot.decisions.service import DecisionService
from chatbot.prompts import Prompts
from chatbot.slack.blocks.agent import (
    evidence_blocks,
    progress_text,
    proposed_card,
    proposed_fallback,
)
from chatbot.slack.post import Posted, post


class SlackAgentPoster:
    def __init__(
        self,
        client: WebClient | None,
        prompts: Prompts,
        decisions: DecisionService,
        jira_url: str | None = None,
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.decisions = decisions
        self.jira_url = jira_url

    def proposed(self, proposed: ProposedDecision) -> Posted:
        if self.client is None:
            return Posted(False, error="no_slack_token")
        d = proposed.decision
        blocks = proposed_card(self.prompts, d, proposed.agent, self.jira_url)
        text = proposed_fallback(self.prompts, d, proposed.agent)
        posted = post(self.client, proposed.team.channel_id, text, blocks)
        if posted.ok and posted.ts:
            self.decisions.set_card(d.id or 0, proposed.team.channel_id, posted.ts)
        return posted

    def note(self, note: ThreadNote, user_id: str) -> Posted:
        if self.client is None:
            return Posted(False, error="no_slack_token")
        if note.check_id is None or note.check_number is None:
            text = progress_text(self.prompts, user_id, note.agent, note.text)
            return post(self.client, note.channel_id, text, thread_ts=note.thread_ts)
        check = note.intent.checks[note.check_number - 1].text
        blocks = evidence_blocks(
            self.prompts, user_id, note.agent, note.check_number, check, note.text, note.check_id
        )
        text = self.prompts.text("agents.evidence_verify", number=note.check_number)
        return post(self.client, note.channel_id, text, blocks, thread_ts=note.thread_ts)
