"""Every metric's key: its name in the digest JSON's `metrics`, in `--explain`, in goals and
in the digest's views.

The one list of metrics, kept at the bottom of the layers (no imports) so that a team's goals
(`chatbot.teams.goals`) name metrics by it as the engine and the catalogue do.
"""

from __future__ import annotations

from enum import StrEnum


class MetricKey(StrEnum):
    CYCLE_TIME = "cycle_time"
    REVIEW_TIME = "review_time"
    REVIEW_ROUNDS = "review_rounds"
    WIP = "wip"
    DEFECT_ESCAPE_RATE = "defect_escape_rate"
    CHANGE_FAILURE_RATE = "change_failure_rate"
    ORCHESTRATION = "orchestration"
    LATE_INTENT_CHURN = "late_intent_churn"
    CHECKS_VERIFIED_AT_DONE = "checks_verified_at_done"
    AI_SHARE = "ai_share"
    AI_VS_OTHER = "ai_vs_other"
    UNREVIEWED_AI = "unreviewed_ai"
    AI_CHANGE_FAILURE = "ai_change_failure"
