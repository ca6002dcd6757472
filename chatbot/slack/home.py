"""App Home: my open intents, then one section per domain with something to show me."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from chatbot.agents.tokens import TokenService
from chatbot.db.engine import Database
from chatbot.decisions.service import DecisionService
from chatbot.digest.publish import latest_posted
from chatbot.intent.service import IntentService
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block
from chatbot.slack.blocks.agent import home_section as agent_tokens_section
from chatbot.slack.blocks.decision import home_section
from chatbot.slack.blocks.digest import home_digest_section
from chatbot.slack.blocks.home import home_view
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

# Enough teams for anyone; App Home has a 100-block cap.
MAX_TEAMS = 10


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
    ) -> None:
        self.tokens = tokens
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

    def publish(self, client: WebClient, user: str) -> None:
        client.views_publish(user_id=user, view=self.view_for(user))

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
