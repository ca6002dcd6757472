"""Block Kit for decisions: the card, the form, search results, intent context, App Home."""

from __future__ import annotations

import json
from typing import Any

from chatbot.decisions.models import Decision, DecisionStatus
from chatbot.decisions.search import Hit, first_lines
from chatbot.decisions.service import TITLE_MAX, DecisionDraft, decision_ref
from chatbot.intent.models import STATUS_LABELS, IntentStatus
from chatbot.intent.service import IntentView
from chatbot.prompts import Prompts
from chatbot.slack.blocks import (
    Block,
    actions,
    button,
    channel_select,
    context,
    header,
    plain,
    section,
    text_input,
)
from chatbot.slack.ids import DecisionId
from chatbot.slack.text import escape, mrkdwn, truncate

SECTION_MAX = 3000
FORM_FIELD_MAX = 3000
CHECKS_SHOWN = 15
LINKED_SHOWN = 20


def _t(prompts: Prompts, name: str, **values: object) -> str:
    return prompts.text(f"decisions.{name}", **values)


def status_label(prompts: Prompts, d: Decision) -> str:
    if d.superseded_by_id:
        return _t(prompts, "card.superseded_by", ref=decision_ref(d.superseded_by_id))
    return _t(prompts, f"card.{DecisionStatus(d.status).value}")


def _field(prompts: Prompts, label: str, body: str, jira_url: str | None) -> Block:
    head = f"*{label}*\n"
    room = SECTION_MAX - len(head) - 60
    shown = mrkdwn(body.strip(), room, jira_url)
    if len(body.strip()) > room:
        shown += "\n" + _t(prompts, "card.shortened", length=f"{len(body.strip()):,}")
    return section(head + shown)


def _meta(prompts: Prompts, d: Decision, jira_url: str | None) -> str:
    parts = [
        f"*{status_label(prompts, d)}*",
        _t(prompts, "card.by", user=d.author),
        f"{d.created_at:%Y-%m-%d}",
    ]
    if d.logged_by != d.author:
        parts.append(_t(prompts, "card.logged_by", user=d.logged_by))
    if d.jira_keys:
        parts.append(mrkdwn(" ".join(d.jira_keys), 500, jira_url))
    if d.intent_id:
        parts.append(f"I-{d.intent_id}")
    if d.tags:
        parts.append(escape(" ".join(f"#{t}" for t in d.tags)))
    if d.is_private:
        parts.append(_t(prompts, "card.private"))
    return truncate(" · ".join(parts), SECTION_MAX)


def card_fallback(prompts: Prompts, d: Decision) -> str:
    text = _t(
        prompts,
        "card.fallback",
        ref=decision_ref(d.id),
        title=escape(d.title),
        status=status_label(prompts, d),
    )
    return truncate(text, 3000)


def decision_card(prompts: Prompts, d: Decision, jira_url: str | None = None) -> list[Block]:
    """The card posted in the channel; Edit and Supersede while it is current."""
    blocks: list[Block] = [
        header(f"{decision_ref(d.id)} · {d.title}"),
        context(_meta(prompts, d, jira_url)),
    ]
    blocks.append(_field(prompts, _t(prompts, "card.decision"), d.decision, jira_url))
    for name, body in (
        ("why", d.why),
        ("alternatives", d.alternatives),
        ("consequences", d.consequences),
    ):
        if body.strip():
            blocks.append(_field(prompts, _t(prompts, f"card.{name}"), body, jira_url))
    links = []
    if d.permalink:
        links.append(_t(prompts, "card.source_message", url=d.permalink))
    if d.supersedes_id:
        links.append(_t(prompts, "card.supersedes", ref=decision_ref(d.supersedes_id)))
    if links:
        blocks.append(context(" · ".join(links)))
    if d.superseded_by_id is None:
        ref = str(d.id)
        blocks.append(
            actions(
                button(_t(prompts, "card.edit"), DecisionId.EDIT, ref),
                button(_t(prompts, "card.supersede"), DecisionId.SUPERSEDE, ref),
                block_id=f"decision_actions_{d.id}",
            )
        )
    return blocks


# --- form -----------------------------------------------------------------------------------
def _status_input(prompts: Prompts, status: str) -> Block:
    options = [
        {
            "text": plain(_t(prompts, "form.status_accepted")),
            "value": DecisionStatus.ACCEPTED.value,
        },
        {
            "text": plain(_t(prompts, "form.status_proposed")),
            "value": DecisionStatus.PROPOSED.value,
        },
    ]
    initial = options[1] if status == DecisionStatus.PROPOSED else options[0]
    return {
        "type": "input",
        "block_id": "status",
        "label": plain(_t(prompts, "form.status_label")),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": initial,
        },
    }


def decision_form(
    prompts: Prompts,
    draft: DecisionDraft | None = None,
    channel_id: str = "",
    decision_id: int | None = None,
    supersedes: Decision | None = None,
    source: dict[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The decision modal: new, edit (`decision_id`), or supersede (`supersedes`).

    A field longer than a form input holds is shown, kept as it is, and not editable here.
    """
    d = draft or DecisionDraft()
    kept: list[str] = []
    blocks: list[Block] = []
    if note:
        blocks.append(context(note))
    if supersedes is not None:
        replaces = _t(
            prompts,
            "form.replaces",
            ref=decision_ref(supersedes.id),
            title=mrkdwn(supersedes.title, 500),
        )
        blocks.append(section(replaces))
    if not channel_id:
        blocks.append(channel_select(_t(prompts, "form.channel_label"), default_to_current=True))

    def add(block_id: str, label: str, value: str, multiline: bool, optional: bool, hint: str = ""):
        if len(value) > FORM_FIELD_MAX:
            kept.append(block_id)
            kept_text = _t(prompts, "form.kept", label=label, length=f"{len(value):,}")
            blocks.append(section(kept_text))
        else:
            max_length = TITLE_MAX if block_id == "title" else FORM_FIELD_MAX
            blocks.append(
                text_input(block_id, label, value, multiline, optional, hint or None, max_length)
            )

    def t(name: str) -> str:
        return _t(prompts, name)

    add("title", t("form.title_label"), d.title, False, True, t("form.title_hint"))
    add("decision", t("card.decision"), d.decision, True, False, t("form.decision_hint"))
    add("why", t("card.why"), d.why, True, True)
    add("alternatives", t("card.alternatives"), d.alternatives, True, True)
    add("consequences", t("card.consequences"), d.consequences, True, True)
    blocks.append(_status_input(prompts, d.status))
    links = " ".join([*d.jira_keys, *([f"I-{d.intent_id}"] if d.intent_id else [])])
    add("links", t("form.links_label"), links, False, True, t("form.links_hint"))
    add("tags", t("form.tags_label"), " ".join(d.tags), False, True, t("form.tags_hint"))
    meta = {
        "channel": channel_id,
        "decision_id": decision_id,
        "supersedes": supersedes.id if supersedes is not None else None,
        "source": source or None,
        "kept": kept,
    }
    title = (
        "form.edit_title"
        if decision_id
        else ("form.supersede_title" if supersedes else "form.log_title")
    )
    return {
        "type": "modal",
        "callback_id": DecisionId.FORM,
        "title": plain(t(title)),
        "submit": plain(t("form.submit")),
        "close": plain(t("form.cancel")),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }


# --- /context -----------------------------------------------------------------------------------
def _hit_line(prompts: Prompts, hit: Hit, jira_url: str | None) -> str:
    title = mrkdwn(hit.title, 300, jira_url)
    body = mrkdwn(hit.first_lines, 600, jira_url)
    where = [f"<@{hit.author}>", f"{hit.created_at:%Y-%m-%d}", f"<#{hit.channel_id}>"]
    if hit.permalink:
        where.append(_t(prompts, "results.message_link", url=hit.permalink))
    quoted = "\n".join(f">{line}" for line in body.splitlines()) if body else ""
    status = hit.status.replace("_", " ")
    return truncate(f"*{hit.ref}* {title} · _{status}_\n{quoted}\n{' · '.join(where)}", 3000)


def search_results(
    prompts: Prompts,
    query: str,
    decisions: list[Hit],
    intents: list[Hit],
    jira_url: str | None = None,
) -> list[Block]:
    heading = _t(prompts, "results.heading", query=escape(truncate(query, 200)))
    blocks: list[Block] = [section(heading)]
    for hit in intents:
        blocks.append(section(_hit_line(prompts, hit, jira_url)))
    for hit in decisions:
        blocks.append(section(_hit_line(prompts, hit, jira_url)))
    blocks.append(context(_t(prompts, "results.footer")))
    return blocks


def decision_line(prompts: Prompts, d: Decision, jira_url: str | None = None) -> str:
    status = status_label(prompts, d)
    head = f"*{decision_ref(d.id)}* {mrkdwn(d.title, 300, jira_url)} · _{status}_"
    why = ""
    if d.why:
        first = mrkdwn(first_lines(d.why, 1, 300), 400, jira_url)
        why = "\n" + _t(prompts, "results.why", why=first)
    link = " · " + _t(prompts, "results.message_link", url=d.permalink) if d.permalink else ""
    return truncate(
        f"{head}{why}\n<@{d.author}> · {d.created_at:%Y-%m-%d} · <#{d.channel_id}>{link}", 3000
    )


def intent_context(
    prompts: Prompts,
    view: IntentView | None,
    decisions: list[Decision],
    ref: str,
    jira_url: str | None = None,
) -> list[Block]:
    """`/context PAY-12` or `/context I-3`: the intent, its checks and status, its decisions."""
    blocks: list[Block] = []
    if view is not None:
        intent = view.intent
        status = STATUS_LABELS.get(IntentStatus(intent.status), str(intent.status))
        key = f" · {mrkdwn(intent.jira_key, 100, jira_url)}" if intent.jira_key else ""
        checks = _t(
            prompts, "results.intent_checks", verified=view.verified_count, total=len(view.checks)
        )
        blocks.append(
            section(
                f"*{view.ref}* {mrkdwn(intent.title, 500, jira_url)}\n*{status}*{key} · "
                f"{checks} · <#{intent.channel_id}>"
            )
        )
        if intent.outcome:
            outcome = _t(prompts, "results.outcome")
            blocks.append(section(outcome + "\n" + mrkdwn(intent.outcome, 2800, jira_url)))
        lines = []
        for n, check in enumerate(view.checks[:CHECKS_SHOWN], 1):
            mark = "✅" if check.verified_at else "☐"
            lines.append(f"{mark} {n}. {mrkdwn(check.text, 300, jira_url)}")
        if len(view.checks) > CHECKS_SHOWN:
            lines.append(_t(prompts, "results.more", count=len(view.checks) - CHECKS_SHOWN))
        none_yet = _t(prompts, "results.none_yet")
        heading = _t(prompts, "results.checks")
        blocks.append(section(truncate(heading + "\n" + ("\n".join(lines) or none_yet), 3000)))
    title = _t(prompts, "results.linked", ref=escape(ref), count=len(decisions))
    blocks.append(section(title if decisions else title + "\n" + _t(prompts, "results.none_yet")))
    for d in decisions[:LINKED_SHOWN]:
        blocks.append(section(decision_line(prompts, d, jira_url)))
    if len(decisions) > LINKED_SHOWN:
        more = len(decisions) - LINKED_SHOWN
        blocks.append(context(_t(prompts, "results.more_linked", count=more, ref=escape(ref))))
    return blocks


def home_section(
    prompts: Prompts, decisions: list[Decision], jira_url: str | None = None
) -> list[Block]:
    if not decisions:
        return [section(_t(prompts, "results.recent_empty"))]
    return [section(_t(prompts, "results.recent"))] + [
        section(decision_line(prompts, d, jira_url)) for d in decisions
    ]
