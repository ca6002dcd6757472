"""Every action_id and callback_id the bot uses, one StrEnum per domain.

The blocks that put a button or a view on screen and the listener that answers it import the
same member, so renaming one cannot silently orphan the other (tests/test_slack_ids.py checks
that every member has a listener and is built by some block).
"""

from __future__ import annotations

from enum import StrEnum


class IntentId(StrEnum):
    SAVE = "intent_save"
    EDIT = "intent_edit"
    VERIFY_CHECK = "intent_verify_check"
    ALL_CHECKS = "intent_all_checks"
    CHECKS_PAGE = "intent_checks_page"
    SET_STATUS = "intent_set_status"
    SHOW = "intent_show"
    JIRA_CREATE = "intent_jira_create"
    JIRA_LINK = "intent_jira_link"
    FORM = "intent_form"  # the form modal (callback_id)
    CHECKS = "intent_checks"  # the "All checks" modal (callback_id; no submit)


class HomeId(StrEnum):
    NEW_INTENT = "home_new_intent"
    SETUP = "home_setup"


class DecisionId(StrEnum):
    EDIT = "decision_edit"
    SUPERSEDE = "decision_supersede"
    FORM = "decision_form"  # the log / edit / supersede modal (callback_id)
    SHORTCUT = "log_decision"  # the message shortcut (callback_id, also in manifest.yml)


class JiraId(StrEnum):
    LINK = "jira_link"  # the link modal (callback_id)
    CREATE = "jira_create"  # the create modal (callback_id)


class DigestId(StrEnum):
    # "Show the work": the button of each metric is this prefix plus the metric's name.
    EXPLAIN = "digest_explain_"
    EXPLAIN_PAGE = "digest_explain_page"
    EXPLAIN_MODAL = "digest_explain"  # the modal (callback_id)
    SETUP = "digest_setup"  # the team settings modal (callback_id)
    CHECKIN_ORCHESTRATION = "checkin_orchestration"
    CHECKIN_INTERRUPTS = "checkin_interrupts"


class AgentId(StrEnum):
    CONNECT = "agent_connect"  # App Home button
    CONNECT_FORM = "agent_connect_form"  # the name modal (callback_id)
    REVOKE = "agent_revoke"  # App Home, one per token
    ACCEPT_DECISION = "agent_accept_decision"  # on a card an agent proposed
    VERIFY_EVIDENCE = "agent_verify_evidence"  # on evidence an agent proposed
