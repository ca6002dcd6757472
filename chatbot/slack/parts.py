"""What the Slack listeners are handed: the base services and the flows built for them by
the composition root (`chatbot.root`). Frozen: registering a listener changes nothing here."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.digest.checkin import CheckInService
from chatbot.digest.publish import DigestPublisher
from chatbot.services import Services
from chatbot.slack.decision_flow import DecisionFlow
from chatbot.slack.form_budget import FormBudget
from chatbot.slack.home import AppHome
from chatbot.slack.identity import BotIdentity
from chatbot.slack.intent_flow import IntentFlow
from chatbot.slack.jira_flow import JiraFlow
from chatbot.slack.owed import SlackOutbox
from chatbot.slack.reaction_flow import ReactionFlow


@dataclass(frozen=True)
class SlackParts:
    services: Services
    intents: IntentFlow
    decisions: DecisionFlow
    reactions: ReactionFlow
    home: AppHome
    digests: DigestPublisher
    checkins: CheckInService
    outbox: SlackOutbox
    identity: BotIdentity
    forms: FormBudget  # the database work of opening and submitting forms, bounded in time
    jira: JiraFlow | None = None  # None when Jira is not configured
