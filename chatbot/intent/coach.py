"""The coach: deterministic rules over an intent's text; every note's wording is in prompts/."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.intent.service import IntentFields
from chatbot.prompts import Prompts

_NUMBER = re.compile(r"\d")
_PERF = re.compile(
    r"\b(ms|millisecond|seconds?|latency|p9[059]|rps|qps|throughput|performance|load|response time|"
    r"per second|timeout)\b",
    re.IGNORECASE,
)
_SECURITY = re.compile(
    r"\b(security|secure|auth\w*|permission|role|encrypt\w*|pii|gdpr|hipaa|pci|access|token|"
    r"password|secret|audit)\b",
    re.IGNORECASE,
)
_SECURITY_TEST = re.compile(
    r"\b(40[13]|denied|unauthori[sz]ed|forbidden|permission|role|encrypt\w*|reject\w*|"
    r"without (?:a |an )?(?:token|role|permission|login)|audit|not allowed|blocked)\b",
    re.IGNORECASE,
)
_COMPOUND = re.compile(r"\band\b|;|\balso\b|\bas well as\b", re.IGNORECASE)


@dataclass(frozen=True)
class CoachNote:
    item: str
    rule: str
    text: str
    blocking: bool = False


class Coach:
    def __init__(self, prompts: Prompts) -> None:
        self.prompts = prompts
        cfg = prompts.get("coach")
        self.vague = sorted(
            {w.lower().rstrip(".") for w in cfg["vague_words"]}, key=len, reverse=True
        )
        self.observable = [w.lower() for w in cfg["observable_words"]]
        self.triggers = [w.lower() for w in cfg["trigger_words"]]
        self.max_item = int(cfg["max_item_chars"])
        self.max_check = int(cfg["max_check_chars"])
        # Each vague word gets the rewrite its kind needs: "secure" a who-may-do-what
        # example, "scalable" a load figure, not one latency example for all.
        self.vague_kinds = {w.lower().rstrip("."): k for w, k in cfg["vague_kinds"].items()}
        self.vague_advice: dict[str, str] = dict(cfg["vague_advice"])
        missing = sorted(set(self.vague_kinds.values()) - set(self.vague_advice))
        if missing or "default" not in self.vague_advice:
            raise ValueError(f"prompts/coach.toml: no [vague_advice] for {missing or ['default']}")

    def vague_advice_for(self, word: str) -> str:
        """The rewrite suggested for one vague word (its kind's, else the default)."""
        kind = self.vague_kinds.get(word.lower().rstrip("."), "default")
        return self.vague_advice[kind].format(word=word)

    def _note(
        self, rule: str, item: str = "", blocking: bool = False, **values: object
    ) -> CoachNote:
        text = self.prompts.text(f"coach.notes.{rule}", item=item, **values)
        return CoachNote(item=item, rule=rule, text=text, blocking=blocking)

    def review(self, fields: IntentFields) -> list[CoachNote]:
        notes: list[CoachNote] = []
        if not fields.outcome.strip():
            notes.append(self._note("no_outcome", "Outcome", blocking=True))
        if not fields.checks:
            notes.append(self._note("no_checks", "Acceptance checks", blocking=True))
        items = [("Outcome", fields.outcome), ("Why now", fields.why)]
        items += [(f"Constraint {i}", c) for i, c in enumerate(fields.constraints, 1)]
        for label, text in items:
            notes += self._vague(label, text)
            if len(text) > self.max_item:
                notes.append(self._note("too_long", label, length=len(text), limit=self.max_item))
        for i, check in enumerate(fields.checks, 1):
            label = f"Check {i}"
            notes += self._vague(label, check)
            lowered = f" {check.lower()} "
            if not any(_has_word(lowered, w) for w in self.observable):
                notes.append(self._note("untestable", label))
            elif self._compound(check):
                notes.append(self._note("compound", label))
            if not any(_has_word(lowered, w) for w in self.triggers):
                notes.append(self._note("missing_actor", label))
            if len(check) > self.max_check:
                notes.append(self._note("too_long", label, length=len(check), limit=self.max_check))
        notes += self._untested_constraints(fields)
        return notes

    def _vague(self, label: str, text: str) -> list[CoachNote]:
        if not text or _NUMBER.search(text):
            return []
        lowered = text.lower()
        for word in self.vague:
            if _has_word(lowered, word):
                advice = self.vague_advice_for(word)
                return [self._note("vague", label, word=word, advice=advice)]
        return []

    @staticmethod
    def _compound(check: str) -> bool:
        # "Given A and B, when ..." is fine; two results after "then" are not.
        result = re.split(r"\bthen\b", check, maxsplit=1, flags=re.IGNORECASE)
        tail = result[1] if len(result) > 1 else check
        return bool(_COMPOUND.search(tail)) or len(re.findall(r"\bthen\b", check, re.I)) > 1

    def _untested_constraints(self, fields: IntentFields) -> list[CoachNote]:
        notes = []
        checks_text = "\n".join(fields.checks)
        for constraint in fields.constraints:
            if _PERF.search(constraint) and not (
                _PERF.search(checks_text) and _NUMBER.search(checks_text)
            ):
                notes.append(self._note("perf_untested", constraint=_short(constraint)))
            elif _SECURITY.search(constraint) and not _SECURITY_TEST.search(checks_text):
                notes.append(self._note("security_untested", constraint=_short(constraint)))
        return notes


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
