"""The composition root: every part of the running bot is built here, once, in order.

Entry points (`chatbot serve`, `socket`, `scheduler`, the CLI's posting commands, tests)
call `build_root(services)` and then ask it for what they run: the Bolt app, the WSGI
router, the job clock. Nothing registers itself anywhere; each part gets what it uses
through its constructor, so the arrows point down (root -> slack/, web/ -> domains -> db/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App

from chatbot.agents.service import AgentService
from chatbot.agents.tokens import TokenService
from chatbot.background import TrackedExecutor
from chatbot.db.dedupe import forget_deliveries_before
from chatbot.decisions.service import DecisionService
from chatbot.digest.checkin import CheckInService
from chatbot.digest.jobs import digest_job
from chatbot.digest.publish import DigestPublisher
from chatbot.github.api import GitHubClient
from chatbot.github.jobs import github_catch_up_job
from chatbot.intent.service import IntentService
from chatbot.jira.follow import follow_intents
from chatbot.jira.history import sync_all_teams
from chatbot.jira.sync import jira_handlers
from chatbot.outbox.jobs import outbox_job
from chatbot.outbox.kick import Kicker
from chatbot.outbox.worker import OutboxWorker
from chatbot.scheduler import Job, JobClock
from chatbot.services import Services
from chatbot.slack.agent_membership import SlackMembership
from chatbot.slack.agent_posts import SlackAgentPoster
from chatbot.slack.app import build_app
from chatbot.slack.decision_flow import DecisionFlow
from chatbot.slack.digest_delivery import SlackDigestDelivery
from chatbot.slack.form_budget import FormBudget
from chatbot.slack.home import AppHome
from chatbot.slack.identity import BotIdentity
from chatbot.slack.intent_cards import IntentCards
from chatbot.slack.intent_flow import IntentFlow
from chatbot.slack.jira_flow import JiraFlow
from chatbot.slack.jira_notices import SlackNotices
from chatbot.slack.names import slack_names
from chatbot.slack.owed import QUIET, SlackOutbox
from chatbot.slack.parts import SlackParts
from chatbot.slack.reaction_flow import REACTION_KIND, ReactionFlow
from chatbot.slack_client import bot_client
from chatbot.teams.service import TeamService
from chatbot.web import (
    context_pack,
    deploy_webhook,
    github_webhook,
    health,
    jira_webhook,
    mcp_endpoint,
)
from chatbot.web.mcp_endpoint import McpApp
from chatbot.web.routes import Router

# Slack retries for minutes and webhooks for hours; a week is far beyond either.
DELIVERY_MEMORY = timedelta(days=7)
JIRA_HISTORY_EVERY_SECONDS = 600
# The bot's ids rarely change; the clock asks Slack for them now and then (never a request).
SLACK_IDENTITY_EVERY_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Root:
    services: Services
    slack: SlackParts
    outbox: OutboxWorker
    kicker: Kicker
    digests: DigestPublisher
    checkins: CheckInService
    notices: SlackNotices
    #: Posts what agents write; built here so every process can render the cards it owes.
    agent_poster: SlackAgentPoster
    jobs: tuple[Job, ...]
    listener_pool: TrackedExecutor


def build_root(services: Services, listener_pool: TrackedExecutor | None = None) -> Root:
    db, clock, prompts, settings = services.db, services.clock, services.prompts, services.settings
    intents = IntentService(db, clock)
    teams = TeamService(db, clock)
    # The messages owed to Slack are sent by a client that does not sleep on a rate limit:
    # the outbox waits Retry-After in the database instead.
    # Its library logs every failed try as an error; the outbox says it once per retry.
    sender = (
        bot_client(settings, retries=False, logger=QUIET) if services.slack is not None else None
    )
    owed = SlackOutbox(db, clock, prompts, settings, sender)
    home = AppHome(
        db,
        prompts,
        intents,
        DecisionService(db, clock),
        teams,
        TokenService(db, clock),
        settings.jira_url,
        owed,
    )
    cards = IntentCards(prompts, intents, settings.jira_url, owed)
    notices = SlackNotices(services, cards, owed)

    handlers = jira_handlers(db, clock, services.jira) if services.jira is not None else {}
    outbox = OutboxWorker(
        db,
        clock,
        {**handlers, **owed.handlers(), **home.handlers()},
        notices if services.slack is not None else None,
        backoff_base=settings.outbox_backoff_seconds,
        backoff_max=settings.outbox_backoff_max_seconds,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )
    owed.use(outbox)
    kicker = Kicker(outbox)
    # auth.test through the quiet client too: it says once that Slack did not answer.
    identity = BotIdentity(settings, db, clock, sender)

    jira = JiraFlow(services, intents, kicker, owed) if services.jira is not None else None
    if jira is not None:
        follow_intents(db.engine, jira.intent_changed)
    decisions = DecisionFlow(services, kicker, owed)
    agent_poster = SlackAgentPoster(prompts, decisions.decisions, owed, settings.jira_url)
    reactions = ReactionFlow(decisions, owed)
    outbox.handle(REACTION_KIND, reactions.handle)
    delivery = SlackDigestDelivery(services.slack, prompts) if services.slack else None
    stale_after = timedelta(seconds=settings.digest_stale_seconds)
    digests = DigestPublisher(db, clock, prompts, delivery, stale_after=stale_after)
    checkins = CheckInService(db, clock, prompts, delivery, stale_after=stale_after)
    slack = SlackParts(
        services=services,
        intents=IntentFlow(services, cards, owed, jira),
        decisions=decisions,
        reactions=reactions,
        home=home,
        digests=digests,
        checkins=checkins,
        outbox=owed,
        identity=identity,
        forms=FormBudget(settings.slack_form_database_seconds, settings.slack_form_threads),
        jira=jira,
    )

    jobs = [
        Job(
            "forget-old-deliveries",
            3600,
            lambda: forget_deliveries_before(db, clock.now() - DELIVERY_MEMORY),
        ),
        outbox_job(outbox, settings.outbox_every_seconds),
        Job("slack-identity", SLACK_IDENTITY_EVERY_SECONDS, identity.refresh),
        digest_job(teams, clock, digests, checkins),
    ]
    gateway = services.jira
    if gateway is not None:
        jobs.append(
            Job(
                "jira-history",
                JIRA_HISTORY_EVERY_SECONDS,
                lambda: sync_all_teams(db, clock, gateway),
            )
        )
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    if token:
        # GitHub never redelivers a failed webhook: the hourly catch-up reads what it missed.
        client = GitHubClient(settings.github_api_url, token)
        jobs.append(github_catch_up_job(db, clock, client))
    return Root(
        services=services,
        slack=slack,
        outbox=outbox,
        kicker=kicker,
        digests=digests,
        checkins=checkins,
        notices=notices,
        agent_poster=agent_poster,
        jobs=tuple(jobs),
        listener_pool=listener_pool or TrackedExecutor(max_workers=settings.listener_threads),
    )


def build_bolt(root: Root) -> App:
    return build_app(root.slack, root.listener_pool)


def build_web(root: Root, embedded_clock: JobClock | None = None) -> tuple[Router, App]:
    """The whole WSGI application: Slack's endpoint, the webhooks, the pack and health."""
    services = root.services
    settings = services.settings
    app = build_bolt(root)
    secret = settings.slack_signing_secret
    router = Router(
        app,
        signing_secret=secret.get_secret_value() if secret else None,
        body_timeout=settings.http_body_timeout_seconds,
    )
    jira_webhook.register_routes(router, services, root.notices)
    github_webhook.register_routes(router, services)
    deploy_webhook.register_routes(router, services)
    context_pack.register_routes(router, services, slack_names(services.slack))
    mcp_endpoint.register_routes(router, mcp_app(services, root.agent_poster))
    health.register_routes(router, services.db, embedded_clock, settings.healthz_timeout_seconds)
    return router, app


def mcp_app(services: Services, poster: SlackAgentPoster) -> McpApp:
    """/mcp: agents' tools, with Slack's answers (membership, names, posts) handed in."""
    agents = AgentService(services.db, services.clock)
    membership = SlackMembership(services.slack)
    return McpApp(
        services,
        agents,
        membership,
        slack_names(services.slack),
        poster,
        membership.is_private,
    )


def job_clock(root: Root) -> JobClock:
    services = root.services
    settings = services.settings
    return JobClock(
        services.db,
        services.clock,
        root.jobs,
        settings.clock_tick_seconds,
        outage_log_seconds=settings.db_outage_log_seconds,
    )
