"""App Home: my open intents, then one section per domain with something to show me.

Publishing is owed through the outbox like every message: one row per person
(`slack-home:<user>`), re-armed in place while it waits, so opening the tab twice while
Slack is down publishes once when it is back. The view is built when the row is sent, from
the database as it is then, so a late publish shows the latest, never what was true when
it was asked for. `views.publish` replaces the whole tab, so sending it again is harmless
and no earlier attempt needs looking for.
"""

from __future__ import annotations

import urllib.error
from http.client import HTTPException
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError

from chatbot.agents.tokens import TokenService
from chatbot.db.engine import Database
from chatbot.decisions.service import DecisionService
from chatbot.digest.publish import latest_posted
from chatbot.intent.service import IntentService
from chatbot.outbox.latest import owe_latest_in
from chatbot.outbox.models import OutboxMessage
from chatbot.outbox.store import LEASE
from chatbot.outbox.worker import GiveUp, Handler, Landed, Progress, RetryLater
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block
from chatbot.slack.blocks.agent import home_section as agent_tokens_section
from chatbot.slack.blocks.decision import home_section
from chatbot.slack.blocks.digest import home_digest_section
from chatbot.slack.blocks.home import home_view
from chatbot.slack.owed import TRANSIENT, SlackOutbox
from chatbot.slack.post import refusal_of
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

# Enough teams for anyone; App Home has a 100-block cap.
MAX_TEAMS = 10
HOME_KIND = "slack.home"


class AppHome:
    def __init__(
        self,
        db: Database,
        prompts: Prompts,
        intents: IntentService,
        decisions: DecisionService,
        teams: TeamService,
        tokens: TokenService,
        jira_url: str | None,
        outbox: SlackOutbox,
    ) -> None:
        self.tokens = tokens
        self.outbox = outbox
        self.db = db
        self.prompts = prompts
        self.intents = intents
        self.decisions = decisions
        self.teams = teams
        self.jira_url = jira_url

    def view_for(self, user: str) -> dict[str, Any]:
        return home_view(
            self.prompts,
            self.intents.open_for_user(user),
            [self.recent_decisions(user), self.latest_digests(user), self.agent_tokens(user)],
            self.jira_url,
        )

    def handlers(self) -> dict[str, Handler]:
        return {HOME_KIND: self.handle}

    def publish(self, user: str) -> None:
        """Owe `user` a fresh App Home and publish it now when no send of it is in flight
        (one in flight publishes again, with this version). Never raises for Slack's sake:
        when Slack is down the row waits for the clock."""
        worker = self.outbox.worker
        claim_for = worker.name if worker is not None else None
        with self.db.transaction() as conn:
            owed = owe_latest_in(
                conn,
                self.outbox.clock.now(),
                HOME_KIND,
                f"slack-home:{user}",
                {"user": user},
                claim_for,
                worker.lease if worker is not None else LEASE,
            )
        if worker is not None and owed.row is not None:
            worker.run_claimed(owed.row)

    def handle(self, row: OutboxMessage, progress: Progress) -> Landed:
        """The outbox's send: the view as the database has it now, published."""
        user = str(row.payload["user"])
        client = self.outbox.client
        if client is None:
            raise GiveUp("no Slack token")
        view = self.view_for(user)
        try:
            client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            error, retry_after = refusal_of(exc)
            if error in TRANSIENT:
                raise RetryLater(error, retry_after) from None
            raise GiveUp(error) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise RetryLater(f"Slack unreachable: {type(reason).__name__}") from None
        except SlackRequestError as exc:
            raise RetryLater(f"Slack: {type(exc).__name__}") from None
        return Landed({"published": user})

    def recent_decisions(self, user: str) -> list[Block]:
        return home_section(self.prompts, self.decisions.recent_for_user(user), self.jira_url)

    def agent_tokens(self, user: str) -> list[Block]:
        return agent_tokens_section(self.prompts, self.tokens.of_user(user))

    def latest_digests(self, user: str) -> list[Block]:
        mine = [t for t in self.teams.all() if has_role(t, user)]
        posted: list[tuple[str, dict[str, Any]]] = []
        for team in mine[:MAX_TEAMS]:
            row = latest_posted(self.db, team.id or 0)
            if row is not None:
                posted.append((team.name, row.digest))
        return home_digest_section(self.prompts, posted)


def has_role(team: Team, user: str) -> bool:
    return any(
        user in people
        for people in (team.orchestrators, team.admins, team.leaders, team.senior_engineers)
    )
