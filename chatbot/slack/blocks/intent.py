"""Block Kit for intents: the card, the list, the check pages and the form."""

from __future__ import annotations

import json
from typing import Any

from chatbot.intent.coach import CoachNote
from chatbot.intent.models import STATUS_LABELS, IntentStatus
from chatbot.intent.service import IntentView
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


def _field_section(label: str, text: str, jira_url: str | None) -> Block:
    body = text.strip()
    head = f"*{label}*\n"
    if not body:
        return section(head + "_not set_")
    room = SECTION_MAX - len(head) - 60
    shown = mrkdwn(body, room, jira_url)
    if len(body) > room:
        shown += f"\n_({len(body):,} characters; shortened here, kept in full)_"
    return section(head + shown)


def _check_line(n: int, check: Any, jira_url: str | None) -> str:
    mark = "✅" if check.verified_at else "☐"
    text = mrkdwn(check.text, 2600, jira_url)
    line = f"{mark} *{n}.* {text}"
    if check.verified_at:
        line += f"\n_verified by <@{check.verified_by}> on {check.verified_at:%Y-%m-%d %H:%M} UTC_"
    return line


def check_blocks(view: IntentView, start: int, count: int, jira_url: str | None) -> list[Block]:
    blocks = []
    for n, check in enumerate(view.checks[start : start + count], start + 1):
        accessory = None
        if check.verified_at is None:
            accessory = button("Verify", IntentId.VERIFY_CHECK, str(check.id))
        blocks.append(section(_check_line(n, check, jira_url), accessory))
    return blocks


def coach_section(notes: list[CoachNote]) -> Block | None:
    if not notes:
        return None
    lines = [f"• {escape(n.text)}" for n in notes[:NOTES_ON_CARD]]
    if len(notes) > NOTES_ON_CARD:
        lines.append(f"_…and {len(notes) - NOTES_ON_CARD} more notes_")
    return section(truncate("*Coach's notes*\n" + "\n".join(lines), SECTION_MAX))


def intent_card(
    view: IntentView, notes: list[CoachNote], jira_url: str | None = None
) -> list[Block]:
    """The card posted in the channel or thread; stays within 50 blocks whatever the content."""
    intent = view.intent
    blocks: list[Block] = [header(f"{view.ref} · {intent.title}")]
    meta = [f"*{_status(view)}*", f"by <@{intent.created_by}>", f"revision {intent.revision}"]
    if intent.jira_key:
        meta.insert(1, mrkdwn(intent.jira_key, 200, jira_url))
    blocks.append(context(" · ".join(meta)))
    blocks.append(_field_section("Outcome", intent.outcome, jira_url))
    blocks.append(_field_section("Why now", intent.why, jira_url))
    constraints = "\n".join(f"• {c}" for c in intent.constraints)
    blocks.append(_field_section("Constraints", constraints, jira_url))
    blocks.append(_field_section("Out of scope", intent.out_of_scope, jira_url))
    blocks.append(divider())
    total = len(view.checks)
    title = (
        f"*Acceptance checks* ({view.verified_count}/{total} verified)"
        if total
        else ("*Acceptance checks*\n_none yet_")
    )
    blocks.append(section(title))
    blocks += check_blocks(view, 0, CHECKS_ON_CARD, jira_url)
    if total > CHECKS_ON_CARD:
        blocks.append(
            section(
                f"_…and {total - CHECKS_ON_CARD} more checks._",
                button("All checks", IntentId.ALL_CHECKS, str(intent.id)),
            )
        )
    note = coach_section(notes)
    if note:
        blocks.append(note)
    blocks.append(card_actions(view))
    return blocks


def card_actions(view: IntentView) -> Block:
    intent_id = str(view.intent.id)
    status = IntentStatus(view.intent.status)
    elements = []
    if status in (IntentStatus.DRAFT, IntentStatus.CANCELLED):
        elements.append(button("Save", IntentId.SAVE, intent_id, style="primary"))
    elements.append(button("Edit in form", IntentId.EDIT, intent_id))
    if not view.intent.jira_key:
        elements.append(button("Create Jira ticket", IntentId.JIRA_CREATE, intent_id))
        elements.append(button("Link Jira ticket", IntentId.JIRA_LINK, intent_id))
    if status not in (IntentStatus.DRAFT, IntentStatus.CANCELLED):
        options = [
            (IntentStatus.IN_PROGRESS, "Mark in progress"),
            (IntentStatus.DONE, "Mark done"),
            (IntentStatus.CANCELLED, "Cancel intent"),
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


def card_fallback(view: IntentView) -> str:
    return truncate(f"{view.ref}: {escape(view.intent.title)} ({_status(view)})", 3000)


def intent_list(views: list[IntentView], empty: str, jira_url: str | None = None) -> list[Block]:
    """This channel's open intents; `empty` (from prompts) when there are none."""
    if not views:
        return [section(empty)]
    blocks: list[Block] = [section(f"*Open intents in this channel* ({len(views)})")]
    for v in views[:40]:
        key = f" · {mrkdwn(v.intent.jira_key, 200, jira_url)}" if v.intent.jira_key else ""
        line = (
            f"*{v.ref}* {mrkdwn(v.intent.title, 500, jira_url)}\n{_status(v)}{key} · "
            f"{v.verified_count}/{len(v.checks)} checks verified"
        )
        blocks.append(section(line, button("Show", IntentId.SHOW, str(v.intent.id))))
    return blocks


def checks_page(view: IntentView, page: int, jira_url: str | None = None) -> dict[str, Any]:
    """A modal listing the checks, one page at a time (for intents with many checks)."""
    total = len(view.checks)
    pages = max(1, -(-total // CHECKS_PER_PAGE))
    page = min(max(0, page), pages - 1)
    start = page * CHECKS_PER_PAGE
    blocks: list[Block] = [
        section(
            f"*{escape(truncate(view.intent.title, 200))}* · checks "
            f"{start + 1}–{min(total, start + CHECKS_PER_PAGE)} of {total}"
        )
    ]
    blocks += check_blocks(view, start, CHECKS_PER_PAGE, jira_url)
    nav = []
    if page > 0:
        nav.append(button("Previous", IntentId.CHECKS_PAGE, f"{view.intent.id}:{page - 1}"))
    if page < pages - 1:
        nav.append(button("Next", IntentId.CHECKS_PAGE, f"{view.intent.id}:{page + 1}"))
    if nav:
        blocks.append(actions(*nav))
    return {
        "type": "modal",
        "callback_id": IntentId.CHECKS,
        "title": plain("Acceptance checks"),
        "close": plain("Close"),
        "private_metadata": json.dumps({"intent_id": view.intent.id, "page": page}),
        "blocks": blocks,
    }


def intent_form(
    fields: Any | None = None,
    channel_id: str = "",
    intent_id: int | None = None,
    title_max: int = 200,
) -> dict[str, Any]:
    """The intent modal. A field too long for a form input is shown, kept, and not editable here."""
    from chatbot.intent.service import IntentFields

    f = fields or IntentFields()
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
            blocks.append(
                section(
                    f"*{label}* is {len(value):,} characters, more than a form field "
                    f"holds. It is kept as it is; edit it in the thread or split it."
                )
            )
        else:
            blocks.append(text_input(block_id, label, value, multiline, optional, hint, max_length))

    if not channel_id:
        blocks.append(channel_select(default_to_current=False))
    add("title", "Title", f.title, False, False, max_length=title_max)
    add(
        "outcome",
        "Outcome",
        f.outcome,
        True,
        False,
        "What should be true for users or the business when this is done?",
    )
    add("why", "Why now", f.why, True, True)
    add(
        "constraints",
        "Constraints",
        "\n".join(f.constraints),
        True,
        True,
        "One per line: security, compliance, performance with numbers, what must not change.",
    )
    add(
        "checks",
        "Acceptance checks",
        "\n".join(f.checks),
        True,
        False,
        "One per line. Given/When/Then welcome: “When <action>, then <who> sees <result>”.",
    )
    add("out_of_scope", "Out of scope", f.out_of_scope, True, True)
    meta = {"channel": channel_id, "intent_id": intent_id, "kept": kept}
    return {
        "type": "modal",
        "callback_id": IntentId.FORM,
        "title": plain("Edit intent" if intent_id else "New intent"),
        "submit": plain("Save draft"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }
