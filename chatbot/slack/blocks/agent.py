"""Block Kit of agent tokens and of what agents post: small pure functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from chatbot.agents.models import AgentToken
from chatbot.agents.tokens import token_ref
from chatbot.decisions.models import Decision
from chatbot.decisions.service import decision_ref
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, actions, button, context, divider, section, text_input
from chatbot.slack.blocks.decision import decision_card
from chatbot.slack.ids import AgentId
from chatbot.slack.text import escape, mrkdwn, truncate

SERVER_NAME = "throughline"
HOME_MAX_TOKENS = 20


def _t(prompts: Prompts, key: str, **values: object) -> str:
    return prompts.text(f"agents.{key}", **values)


def _day(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at else ""


@dataclass(frozen=True)
class ClientConfigs:
    """Ready-to-paste configuration of each MCP client, for one token."""

    claude_code: str
    cursor: str
    vscode: str


def client_configs(url: str, secret: str) -> ClientConfigs:
    auth = f"Bearer {secret}"
    claude = f"claude mcp add --transport http {SERVER_NAME} {url} --header 'Authorization: {auth}'"
    cursor = json.dumps(
        {"mcpServers": {SERVER_NAME: {"url": url, "headers": {"Authorization": auth}}}}, indent=2
    )
    server = {"type": "http", "url": url, "headers": {"Authorization": auth}}
    vscode = json.dumps({"servers": {SERVER_NAME: server}}, indent=2)
    return ClientConfigs(claude, cursor, vscode)


def _code(text: str) -> str:
    # Inside a code block only &, < and > matter to Slack; backticks cannot occur in configs.
    return f"```{escape(text)}```"


def token_made(prompts: Prompts, token: AgentToken, secret: str, mcp_url: str) -> list[Block]:
    configs = client_configs(mcp_url, secret)
    return [
        section(
            _t(prompts, "connect_made", name=escape(token.name), expires=_day(token.expires_at))
        ),
        section(f"{_t(prompts, 'connect_token_label')}: `{escape(secret)}`"),
        section(f"{_t(prompts, 'connect_claude')}\n{_code(configs.claude_code)}"),
        section(f"{_t(prompts, 'connect_cursor')}\n{_code(configs.cursor)}"),
        section(f"{_t(prompts, 'connect_vscode')}\n{_code(configs.vscode)}"),
        context(_t(prompts, "connect_stdio", url=escape(mcp_url))),
    ]


def connect_form(prompts: Prompts) -> dict[str, object]:
    return {
        "type": "modal",
        "callback_id": AgentId.CONNECT_FORM,
        "title": {"type": "plain_text", "text": truncate(_t(prompts, "connect_title"), 24)},
        "submit": {"type": "plain_text", "text": truncate(_t(prompts, "connect_submit"), 24)},
        "blocks": [
            text_input(
                "name",
                _t(prompts, "connect_name_label"),
                max_length=80,
                placeholder=_t(prompts, "connect_name_placeholder"),
            )
        ],
    }


def token_made_view(prompts: Prompts, blocks: list[Block]) -> dict[str, object]:
    """The modal that replaces the form: the token, shown this once."""
    return {
        "type": "modal",
        "callback_id": AgentId.CONNECT_FORM,
        "title": {"type": "plain_text", "text": truncate(_t(prompts, "connect_title"), 24)},
        "blocks": blocks,
    }


def home_section(prompts: Prompts, tokens: list[AgentToken]) -> list[Block]:
    blocks: list[Block] = [
        divider(),
        section(
            f"{_t(prompts, 'home_title')}\n{_t(prompts, 'home_intro')}",
            accessory=button(_t(prompts, "home_connect"), AgentId.CONNECT, "connect"),
        ),
    ]
    if not tokens:
        blocks.append(context(_t(prompts, "home_none")))
    for token in tokens[:HOME_MAX_TOKENS]:
        line = _t(
            prompts,
            "home_line",
            name=escape(token.name),
            ref=token_ref(token.id),
            created=_day(token.created_at),
            expires=_day(token.expires_at),
            last_used=_day(token.last_used_at) or _t(prompts, "home_never"),
        )
        revoke = button(_t(prompts, "home_revoke"), AgentId.REVOKE, str(token.id), style="danger")
        blocks.append(section(line, accessory=revoke))
    return blocks


def proposed_card(
    prompts: Prompts, d: Decision, agent: str, jira_url: str | None = None
) -> list[Block]:
    """The decision card with who proposed it through which agent, and an Accept button."""
    note = _t(prompts, "card_proposed", user=d.author, agent=escape(agent))
    accept = button(_t(prompts, "card_accept"), AgentId.ACCEPT_DECISION, str(d.id), style="primary")
    return [*decision_card(prompts, d, jira_url), section(note), actions(accept)]


def accepted_card(
    prompts: Prompts, d: Decision, user: str, jira_url: str | None = None
) -> list[Block]:
    agent = escape(d.via_agent or "")
    note = _t(prompts, "card_proposed", user=d.author, agent=agent)
    return [
        *decision_card(prompts, d, jira_url),
        context(note.replace("*", ""), _t(prompts, "card_accepted", user=user)),
    ]


def proposed_fallback(prompts: Prompts, d: Decision, agent: str) -> str:
    return _t(
        prompts,
        "card_accept_fallback",
        ref=decision_ref(d.id),
        user=d.author,
        agent=escape(agent),
        title=escape(truncate(d.title, 200)),
    )


def progress_text(prompts: Prompts, user: str, agent: str, text: str) -> str:
    return _t(prompts, "progress", agent=escape(agent), user=user, text=mrkdwn(text, 3000))


def evidence_blocks(
    prompts: Prompts, user: str, agent: str, number: int, check: str, text: str, check_id: int
) -> list[Block]:
    body = _t(
        prompts,
        "evidence",
        number=number,
        agent=escape(agent),
        user=user,
        text=mrkdwn(text, 2000),
        check=mrkdwn(check, 500),
    )
    verify = button(
        _t(prompts, "evidence_verify", number=number),
        AgentId.VERIFY_EVIDENCE,
        str(check_id),
        style="primary",
    )
    return [section(truncate(body, 3000)), actions(verify)]


def evidence_verified(prompts: Prompts, body_text: str, number: int, user: str) -> list[Block]:
    return [
        section(truncate(body_text, 3000)),
        context(_t(prompts, "evidence_verified", number=number, user=user)),
    ]
