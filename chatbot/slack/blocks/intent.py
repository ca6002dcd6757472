"""Block Kit for intents: the card, the list, the check pages and the form."""

from __future__ import annotations

import json
from typing import Any

from chatbot.intent.coach import CoachNote
from chatbot.intent.models import STATUS_LABELS, IntentStatus
from chatbot.intent.service import IntentFields, IntentView
from chatbot.prompts import Prompts
from chatbot.slack.blocks import (
    Block,
    actions,
    button,
    channel_select,
    context,
    divider,
    header,
    plain,
    section,
    text_input,
)
from chatbot.slack.ids import IntentId
from chatbot.slack.text import escape, mrkdwn, truncate

CHECKS_ON_CARD = 15
CHECKS_PER_PAGE = 30
NOTES_ON_CARD = 8
FORM_FIELD_MAX = 3000
SECTION_MAX = 3000


def _status(view: IntentView) -> str:
    return STATUS_LABELS.get(IntentStatus(view.intent.status), str(view.intent.status))


def _t(prompts: Prompts, name: str, **values: object) -> str:
    return prompts.text(f"intent.{name}", **values)


def field_labels(prompts: Prompts) -> dict[str, str]:
    """Each intent field's label, as the guided questions name it."""
    return {q["field"]: q["label"] for q in prompts.get("intent.questions")}


def _field_section(prompts: Prompts, label: str, text: str, jira_url: str | None) -> Block:
    body = text.strip()
    head = f"*{label}*\n"
    if not body:
        return section(head + _t(prompts, "card.not_set"))
    room = SECTION_MAX - len(head) - 60
    shown = mrkdwn(body, room, jira_url)
    if len(body) > room:
        shown += "\n" + _t(prompts, "card.shortened", length=f"{len(body):,}")
    return section(head + shown)


def _check_line(prompts: Prompts, n: int, check: Any, jira_url: str | None) -> str:
    mark = "✅" if check.verified_at else "☐"
    text = mrkdwn(check.text, 2600, jira_url)
    line = f"{mark} *{n}.* {text}"
    if check.verified_at:
        when = f"{check.verified_at:%Y-%m-%d %H:%M}"
        line += "\n" + _t(prompts, "card.verified_by", user=check.verified_by, when=when)
    return line


def check_blocks(
    prompts: Prompts, view: IntentView, start: int, count: int, jira_url: str | None
) -> list[Block]:
    blocks = []
    for n, check in enumerate(view.checks[start : start + count], start + 1):
        accessory = None
        if check.verified_at is None:
            accessory = button(_t(prompts, "card.verify"), IntentId.VERIFY_CHECK, str(check.id))
        blocks.append(section(_check_line(prompts, n, check, jira_url), accessory))
    return blocks


def coach_section(prompts: Prompts, notes: list[CoachNote]) -> Block | None:
    if not notes:
        return None
    lines = [f"• {escape(n.text)}" for n in notes[:NOTES_ON_CARD]]
    if len(notes) > NOTES_ON_CARD:
        lines.append(_t(prompts, "card.more_notes", count=len(notes) - NOTES_ON_CARD))
    heading = _t(prompts, "card.coach_heading")
    return section(truncate(heading + "\n" + "\n".join(lines), SECTION_MAX))


def intent_card(
    prompts: Prompts, view: IntentView, notes: list[CoachNote], jira_url: str | None = None
) -> list[Block]:
    """The card posted in the channel or thread; stays within 50 blocks whatever the content."""
    intent = view.intent
    labels = field_labels(prompts)
    blocks: list[Block] = [header(f"{view.ref} · {intent.title}")]
    meta = [
        f"*{_status(view)}*",
        _t(prompts, "card.by", user=intent.created_by),
        _t(prompts, "card.revision", revision=intent.revision),
    ]
    if intent.jira_key:
        meta.insert(1, mrkdwn(intent.jira_key, 200, jira_url))
    blocks.append(context(" · ".join(meta)))
    blocks.append(_field_section(prompts, labels["outcome"], intent.outcome, jira_url))
    blocks.append(_field_section(prompts, labels["why"], intent.why, jira_url))
    constraints = "\n".join(f"• {c}" for c in intent.constraints)
    blocks.append(_field_section(prompts, labels["constraints"], constraints, jira_url))
    blocks.append(_field_section(prompts, labels["out_of_scope"], intent.out_of_scope, jira_url))
    blocks.append(divider())
    total = len(view.checks)
    title = (
        _t(prompts, "card.checks_heading", verified=view.verified_count, total=total)
        if total
        else _t(prompts, "card.checks_heading_empty")
    )
    blocks.append(section(title))
    blocks += check_blocks(prompts, view, 0, CHECKS_ON_CARD, jira_url)
    if total > CHECKS_ON_CARD:
        blocks.append(
            section(
                _t(prompts, "card.more_checks", count=total - CHECKS_ON_CARD),
                button(_t(prompts, "card.all_checks"), IntentId.ALL_CHECKS, str(intent.id)),
            )
        )
    note = coach_section(prompts, notes)
    if note:
        blocks.append(note)
    blocks.append(card_actions(prompts, view))
    return blocks


def card_actions(prompts: Prompts, view: IntentView) -> Block:
    intent_id = str(view.intent.id)
    status = IntentStatus(view.intent.status)
    elements = []
    if status in (IntentStatus.DRAFT, IntentStatus.CANCELLED):
        elements.append(button(_t(prompts, "card.save"), IntentId.SAVE, intent_id, style="primary"))
    elements.append(button(_t(prompts, "card.edit_in_form"), IntentId.EDIT, intent_id))
    if not view.intent.jira_key:
        elements.append(button(_t(prompts, "card.create_jira"), IntentId.JIRA_CREATE, intent_id))
        elements.append(button(_t(prompts, "card.link_jira"), IntentId.JIRA_LINK, intent_id))
    if status not in (IntentStatus.DRAFT, IntentStatus.CANCELLED):
        options = [
            (IntentStatus.IN_PROGRESS, _t(prompts, "card.mark_in_progress")),
            (IntentStatus.DONE, _t(prompts, "card.mark_done")),
            (IntentStatus.CANCELLED, _t(prompts, "card.cancel_intent")),
        ]
        elements.append(
            {
                "type": "overflow",
                "action_id": IntentId.SET_STATUS,
                "options": [
                    {"text": plain(label), "value": f"{intent_id}:{value.value}"}
                    for value, label in options
                    if value != status
                ],
            }
        )
    return actions(*elements, block_id=f"intent_actions_{intent_id}")


def card_fallback(prompts: Prompts, view: IntentView) -> str:
    text = _t(
        prompts,
        "card.fallback",
        intent_ref=view.ref,
        title=escape(view.intent.title),
        status=_status(view),
    )
    return truncate(text, 3000)


def intent_list(
    prompts: Prompts, views: list[IntentView], jira_url: str | None = None
) -> list[Block]:
    """This channel's open intents, or the prompt saying there are none."""
    if not views:
        return [section(prompts.text("messages.no_intents"))]
    blocks: list[Block] = [section(_t(prompts, "list.heading", count=len(views)))]
    show = _t(prompts, "list.show")
    for v in views[:40]:
        key = f" · {mrkdwn(v.intent.jira_key, 200, jira_url)}" if v.intent.jira_key else ""
        checks = _t(prompts, "list.checks", verified=v.verified_count, total=len(v.checks))
        line = f"*{v.ref}* {mrkdwn(v.intent.title, 500, jira_url)}\n{_status(v)}{key} · {checks}"
        blocks.append(section(line, button(show, IntentId.SHOW, str(v.intent.id))))
    return blocks


def checks_page(
    prompts: Prompts, view: IntentView, page: int, jira_url: str | None = None
) -> dict[str, Any]:
    """A modal listing the checks, one page at a time (for intents with many checks)."""
    total = len(view.checks)
    pages = max(1, -(-total // CHECKS_PER_PAGE))
    page = min(max(0, page), pages - 1)
    start = page * CHECKS_PER_PAGE
    heading = _t(
        prompts,
        "checks_page.heading",
        title=escape(truncate(view.intent.title, 200)),
        first=start + 1,
        last=min(total, start + CHECKS_PER_PAGE),
        total=total,
    )
    blocks: list[Block] = [section(heading)]
    blocks += check_blocks(prompts, view, start, CHECKS_PER_PAGE, jira_url)
    nav = []
    if page > 0:
        label = _t(prompts, "checks_page.previous")
        nav.append(button(label, IntentId.CHECKS_PAGE, f"{view.intent.id}:{page - 1}"))
    if page < pages - 1:
        label = _t(prompts, "checks_page.next")
        nav.append(button(label, IntentId.CHECKS_PAGE, f"{view.intent.id}:{page + 1}"))
    if nav:
        blocks.append(actions(*nav))
    return {
        "type": "modal",
        "callback_id": IntentId.CHECKS,
        "title": plain(_t(prompts, "checks_page.title")),
        "close": plain(_t(prompts, "checks_page.close")),
        "private_metadata": json.dumps({"intent_id": view.intent.id, "page": page}),
        "blocks": blocks,
    }


def intent_form(
    prompts: Prompts,
    fields: Any | None = None,
    channel_id: str = "",
    intent_id: int | None = None,
    title_max: int = 200,
) -> dict[str, Any]:
    """The intent modal. A field too long for a form input is shown, kept, and not editable here."""
    f = fields or IntentFields()
    labels = field_labels(prompts)
    kept: list[str] = []
    blocks: list[Block] = []

    def add(
        block_id: str,
        label: str,
        value: str,
        multiline: bool,
        optional: bool,
        hint: str | None = None,
        max_length: int = FORM_FIELD_MAX,
    ) -> None:
        if len(value) > max_length:
            kept.append(block_id)
            blocks.append(section(_t(prompts, "form.kept", label=label, length=f"{len(value):,}")))
        else:
            blocks.append(text_input(block_id, label, value, multiline, optional, hint, max_length))

    if not channel_id:
        blocks.append(channel_select(_t(prompts, "form.channel_label"), default_to_current=False))
    add("title", _t(prompts, "form.title_label"), f.title, False, False, max_length=title_max)
    add("outcome", labels["outcome"], f.outcome, True, False, _t(prompts, "form.outcome_hint"))
    add("why", labels["why"], f.why, True, True)
    constraints = "\n".join(f.constraints)
    hint = _t(prompts, "form.constraints_hint")
    add("constraints", labels["constraints"], constraints, True, True, hint)
    add(
        "checks",
        labels["checks"],
        "\n".join(f.checks),
        True,
        False,
        _t(prompts, "form.checks_hint"),
    )
    add("out_of_scope", labels["out_of_scope"], f.out_of_scope, True, True)
    meta = {"channel": channel_id, "intent_id": intent_id, "kept": kept}
    return {
        "type": "modal",
        "callback_id": IntentId.FORM,
        "title": plain(_t(prompts, "form.edit_title" if intent_id else "form.new_title")),
        "submit": plain(_t(prompts, "form.submit")),
        "close": plain(_t(prompts, "form.cancel")),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }
