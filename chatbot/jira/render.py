"""What an intent looks like in Jira: the description of a new ticket and the synced comment."""

from __future__ import annotations

from chatbot.intent.service import IntentView
from chatbot.jira.document import Bullets, Checklist, Doc, Heading, Link, Paragraph

SUMMARY_MAX = 255


def summary(view: IntentView) -> str:
    return " ".join(view.intent.title.split())[:SUMMARY_MAX]


def _body(doc: Doc, view: IntentView) -> Doc:
    i = view.intent
    doc.add(Heading("Outcome")).add(Paragraph(i.outcome or "—"))
    if i.why.strip():
        doc.add(Heading("Why now")).add(Paragraph(i.why))
    if i.constraints:
        doc.add(Heading("Constraints")).add(Bullets(list(i.constraints)))
    doc.add(Heading(f"Acceptance checks ({view.verified_count}/{len(view.checks)} verified)"))
    if view.checks:
        doc.add(Checklist([(c.verified_at is not None, c.text) for c in view.checks]))
    else:
        doc.add(Paragraph("None yet."))
    if i.out_of_scope.strip():
        doc.add(Heading("Out of scope")).add(Paragraph(i.out_of_scope))
    return doc


def description(view: IntentView, thread_url: str | None) -> Doc:
    doc = _body(Doc(), view)
    if thread_url:
        doc.add(Link("Slack thread", thread_url, before=f"Intent {view.ref}, discussed in the "))
    return doc


def intent_comment(view: IntentView, thread_url: str | None, marker: str) -> Doc:
    """The one comment kept in step with the intent: edited on every revision."""
    doc = Doc(
        [
            Paragraph(
                f"Intent {view.ref} · {view.intent.title} "
                f"(revision {view.intent.revision}, kept in step from Slack)"
            )
        ]
    )
    _body(doc, view)
    if thread_url:
        doc.add(Link("Slack thread", thread_url, before="Discussion: "))
    return doc.add(Paragraph(marker))


def marker(dedupe_key: str) -> str:
    """A line that lets a retry find the comment it may already have written."""
    return f"Throughline ref {dedupe_key}"
