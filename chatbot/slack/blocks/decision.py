"""Block Kit for decisions: the card, the form, search results, intent context, App Home."""

from __future__ import annotations

import json
from typing import Any

from chatbot.decisions.models import Decision, DecisionStatus
from chatbot.decisions.search import Hit, first_lines
from chatbot.decisions.service import TITLE_MAX, DecisionDraft, decision_ref
from chatbot.intent.models import STATUS_LABELS, IntentStatus
from chatbot.intent.service import IntentView
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
STATUS_NAMES = {
    DecisionStatus.ACCEPTED: "Accepted",
    DecisionStatus.PROPOSED: "Proposed",
    DecisionStatus.SUPERSEDED: "Superseded",
}


def status_label(d: Decision) -> str:
    if d.superseded_by_id:
        return f"Superseded by {decision_ref(d.superseded_by_id)}"
    return STATUS_NAMES.get(DecisionStatus(d.status), str(d.status))


def _field(label: str, body: str, jira_url: str | None) -> Block:
    head = f"*{label}*\n"
    room = SECTION_MAX - len(head) - 60
    shown = mrkdwn(body.strip(), room, jira_url)
    if len(body.strip()) > room:
        shown += f"\n_({len(body.strip()):,} characters; shortened here, kept in full)_"
    return section(head + shown)


def _meta(d: Decision, jira_url: str | None) -> str:
    parts = [f"*{status_label(d)}*", f"by <@{d.author}>", f"{d.created_at:%Y-%m-%d}"]
    if d.logged_by != d.author:
        parts.append(f"logged by <@{d.logged_by}>")
    if d.jira_keys:
        parts.append(mrkdwn(" ".join(d.jira_keys), 500, jira_url))
    if d.intent_id:
        parts.append(f"I-{d.intent_id}")
    if d.tags:
        parts.append(escape(" ".join(f"#{t}" for t in d.tags)))
    if d.is_private:
        parts.append(":lock: only shown in this conversation")
    return truncate(" · ".join(parts), SECTION_MAX)


def card_fallback(d: Decision) -> str:
    return truncate(f"Decision {decision_ref(d.id)}: {escape(d.title)} ({status_label(d)})", 3000)


def decision_card(d: Decision, jira_url: str | None = None) -> list[Block]:
    """The card posted in the channel; Edit and Supersede while it is current."""
    blocks: list[Block] = [header(f"{decision_ref(d.id)} · {d.title}"), context(_meta(d, jira_url))]
    blocks.append(_field("Decision", d.decision, jira_url))
    for label, body in (
        ("Why", d.why),
        ("Alternatives considered", d.alternatives),
        ("Consequences", d.consequences),
    ):
        if body.strip():
            blocks.append(_field(label, body, jira_url))
    links = []
    if d.permalink:
        links.append(f"<{d.permalink}|Source message>")
    if d.supersedes_id:
        links.append(f"Supersedes {decision_ref(d.supersedes_id)}")
    if links:
        blocks.append(context(" · ".join(links)))
    if d.superseded_by_id is None:
        ref = str(d.id)
        blocks.append(
            actions(
                button("Edit", DecisionId.EDIT, ref),
                button("Supersede", DecisionId.SUPERSEDE, ref),
                block_id=f"decision_actions_{d.id}",
            )
        )
    return blocks


# --- form -----------------------------------------------------------------------------------
def _status_input(status: str) -> Block:
    options = [
        {"text": plain("Accepted"), "value": DecisionStatus.ACCEPTED.value},
        {"text": plain("Proposed (not decided yet)"), "value": DecisionStatus.PROPOSED.value},
    ]
    initial = options[1] if status == DecisionStatus.PROPOSED else options[0]
    return {
        "type": "input",
        "block_id": "status",
        "label": plain("Status"),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": initial,
        },
    }


def decision_form(
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
        blocks.append(
            section(
                f"Replaces *{decision_ref(supersedes.id)}* · "
                f"{mrkdwn(supersedes.title, 500)}; it will be marked superseded."
            )
        )
    if not channel_id:
        blocks.append(channel_select(default_to_current=True))

    def add(block_id: str, label: str, value: str, multiline: bool, optional: bool, hint: str = ""):
        if len(value) > FORM_FIELD_MAX:
            kept.append(block_id)
            blocks.append(
                section(
                    f"*{label}* is {len(value):,} characters, more than a form field holds. "
                    "It is kept as it is."
                )
            )
        else:
            max_length = TITLE_MAX if block_id == "title" else FORM_FIELD_MAX
            blocks.append(
                text_input(block_id, label, value, multiline, optional, hint or None, max_length)
            )

    add("title", "Title", d.title, False, True, "Short; taken from the decision when empty.")
    add("decision", "Decision", d.decision, True, False, "What was decided?")
    add("why", "Why", d.why, True, True)
    add("alternatives", "Alternatives considered", d.alternatives, True, True)
    add("consequences", "Consequences", d.consequences, True, True)
    blocks.append(_status_input(d.status))
    links = " ".join([*d.jira_keys, *([f"I-{d.intent_id}"] if d.intent_id else [])])
    add("links", "Jira keys and intent", links, False, True, "e.g. PAY-12 I-3")
    add("tags", "Tags", " ".join(d.tags), False, True, "e.g. storage security")
    meta = {
        "channel": channel_id,
        "decision_id": decision_id,
        "supersedes": supersedes.id if supersedes is not None else None,
        "source": source or None,
        "kept": kept,
    }
    title = "Edit decision" if decision_id else ("Supersede" if supersedes else "Log a decision")
    return {
        "type": "modal",
        "callback_id": DecisionId.FORM,
        "title": plain(title),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }


# --- /context -----------------------------------------------------------------------------------
def _hit_line(hit: Hit, jira_url: str | None) -> str:
    title = mrkdwn(hit.title, 300, jira_url)
    body = mrkdwn(hit.first_lines, 600, jira_url)
    where = [f"<@{hit.author}>", f"{hit.created_at:%Y-%m-%d}", f"<#{hit.channel_id}>"]
    if hit.permalink:
        where.append(f"<{hit.permalink}|message>")
    quoted = "\n".join(f">{line}" for line in body.splitlines()) if body else ""
    status = hit.status.replace("_", " ")
    return truncate(f"*{hit.ref}* {title} · _{status}_\n{quoted}\n{' · '.join(where)}", 3000)


def search_results(
    query: str, decisions: list[Hit], intents: list[Hit], jira_url: str | None = None
) -> list[Block]:
    blocks: list[Block] = [section(f"*Decisions and intents for* “{escape(truncate(query, 200))}”")]
    for hit in intents:
        blocks.append(section(_hit_line(hit, jira_url)))
    for hit in decisions:
        blocks.append(section(_hit_line(hit, jira_url)))
    blocks.append(context("Best match first, newer first among equals · `/context pack` exports"))
    return blocks


def decision_line(d: Decision, jira_url: str | None = None) -> str:
    head = f"*{decision_ref(d.id)}* {mrkdwn(d.title, 300, jira_url)} · _{status_label(d)}_"
    why = f"\n_why:_ {mrkdwn(first_lines(d.why, 1, 300), 400, jira_url)}" if d.why else ""
    link = f" · <{d.permalink}|message>" if d.permalink else ""
    return truncate(
        f"{head}{why}\n<@{d.author}> · {d.created_at:%Y-%m-%d} · <#{d.channel_id}>{link}", 3000
    )


def intent_context(
    view: IntentView | None, decisions: list[Decision], ref: str, jira_url: str | None = None
) -> list[Block]:
    """`/context PAY-12` or `/context I-3`: the intent, its checks and status, its decisions."""
    blocks: list[Block] = []
    if view is not None:
        intent = view.intent
        status = STATUS_LABELS.get(IntentStatus(intent.status), str(intent.status))
        key = f" · {mrkdwn(intent.jira_key, 100, jira_url)}" if intent.jira_key else ""
        blocks.append(
            section(
                f"*{view.ref}* {mrkdwn(intent.title, 500, jira_url)}\n*{status}*{key} · "
                f"{view.verified_count}/{len(view.checks)} checks verified · <#{intent.channel_id}>"
            )
        )
        if intent.outcome:
            blocks.append(section("*Outcome*\n" + mrkdwn(intent.outcome, 2800, jira_url)))
        lines = []
        for n, check in enumerate(view.checks[:CHECKS_SHOWN], 1):
            mark = "✅" if check.verified_at else "☐"
            lines.append(f"{mark} {n}. {mrkdwn(check.text, 300, jira_url)}")
        if len(view.checks) > CHECKS_SHOWN:
            lines.append(f"_…and {len(view.checks) - CHECKS_SHOWN} more_")
        blocks.append(
            section(truncate("*Acceptance checks*\n" + ("\n".join(lines) or "_none yet_"), 3000))
        )
    title = f"*Decisions linked to {escape(ref)}* ({len(decisions)})"
    blocks.append(section(title if decisions else title + "\n_none yet_"))
    for d in decisions[:LINKED_SHOWN]:
        blocks.append(section(decision_line(d, jira_url)))
    if len(decisions) > LINKED_SHOWN:
        blocks.append(
            context(f"…and {len(decisions) - LINKED_SHOWN} more: `/context pack {escape(ref)}`")
        )
    return blocks


def home_section(decisions: list[Decision], jira_url: str | None = None) -> list[Block]:
    if not decisions:
        return [section("*Recent decisions*\n_None yet. Log one with `/decision <text>`._")]
    return [section("*Recent decisions*")] + [
        section(decision_line(d, jira_url)) for d in decisions
    ]
