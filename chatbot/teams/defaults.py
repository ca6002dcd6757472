"""A team's settings before anyone changes them: the one place each default is written."""

from __future__ import annotations

from types import MappingProxyType

TIME_ZONE = "UTC"
DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = "09:00"
CHECKIN_WEEKDAY = 4  # Friday
CHECKIN_TIME = "15:00"
WIP_LIMIT = 2
PRODUCTION_ENVS: tuple[str, ...] = ("production", "prod")
ESCAPE_RULE = MappingProxyType({"label": "escaped"})
DECISION_REACTION = "memo"
JIRA_ISSUE_TYPE = "Story"
AI_LABELS: tuple[str, ...] = ("ai-assisted", "ai-generated")
