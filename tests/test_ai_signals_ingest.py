"""AI-assistance signals are stored as they arrive: commit messages from `push` events, labels
and size from `pull_request` events, fed as GitHub's own example payloads.

The payloads in `tests/fixtures/octokit/` are octokit/webhooks' examples
(`payload-examples/api.github.com/`, commit 3a58428a), unchanged on disk; a test adds a
trailer or a label to a copy where it needs one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chatbot.github.ai_signals import Rules
from chatbot.github.models import GitCommit, PullRequest
from chatbot.metrics.engine import explain
from tests.conftest import Bot
from tests.github_helpers import SECRET, add_team, deliver, rows

OCTOKIT = Path(__file__).parent / "fixtures" / "octokit"
REPO = "codertocat/hello-world"
CLAUDE = "Co-Authored-By: Claude <noreply@anthropic.com>"


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"github_webhook_secret": SECRET}


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((OCTOKIT / name).read_text()))


def test_the_example_push_stores_each_commit_message(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    payload = example("push_with-new-branch.payload.json")
    payload["commits"][0]["message"] = f"Initial commit\n\n{CLAUDE}"
    assert deliver(bot, "push", payload).status == 200
    (commit,) = rows(bot.services.db, GitCommit, repo=REPO)
    assert commit.sha == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert commit.message == f"Initial commit\n\n{CLAUDE}"
    assert commit.author_login == "Codertocat"


def test_a_redelivered_push_without_messages_keeps_the_stored_one(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    payload = example("push_with-new-branch.payload.json")
    assert deliver(bot, "push", payload).status == 200
    stripped = example("push_with-new-branch.payload.json")
    del stripped["commits"][0]["message"]
    assert deliver(bot, "push", stripped, delivery="another").status == 200
    (commit,) = rows(bot.services.db, GitCommit, repo=REPO)
    assert commit.message == "Initial commit"


def test_co_author_logins_come_from_github_noreply_trailers(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    payload = example("push_with-new-branch.payload.json")
    payload["commits"][0]["message"] = (
        "Fix the parser\n\n"
        "Co-authored-by: Ann Lee <12345+ann-lee@users.noreply.github.com>\n"
        "Co-authored-by: Bob <bob@example.com>\n"
        "Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>"
    )
    assert deliver(bot, "push", payload).status == 200
    (commit,) = rows(bot.services.db, GitCommit, repo=REPO)
    assert commit.coauthors == " ann-lee copilot "


def test_the_example_pull_request_stores_labels_and_size(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    payload = example("pull_request_labeled.payload.json")
    payload["pull_request"]["labels"].append({"id": 9, "name": "ai-assisted"})
    payload["pull_request"]["additions"] = 120
    payload["pull_request"]["deletions"] = 30
    assert deliver(bot, "pull_request", payload).status == 200
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO)
    assert pr.labels == ["bug", "ai-assisted"]
    assert (pr.additions, pr.deletions) == (120, 30)


def test_the_unchanged_examples_store_what_they_carry(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    assert deliver(bot, "pull_request", example("pull_request_labeled.payload.json")).status == 200
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO)
    assert pr.labels == ["bug"] and (pr.additions, pr.deletions) == (1, 1)


def test_labels_stay_as_they_stood_at_the_merge(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    merged = example("pull_request_closed.payload.json")
    merged["pull_request"]["merged_at"] = "2019-05-15T15:20:40Z"
    merged["pull_request"]["labels"] = [{"id": 1, "name": "ai-generated"}]
    assert deliver(bot, "pull_request", merged).status == 200
    later = copy.deepcopy(merged)
    later["action"] = "labeled"
    later["pull_request"]["updated_at"] = "2019-05-16T10:00:00Z"
    later["pull_request"]["labels"] = [{"id": 2, "name": "released"}]
    later["pull_request"]["title"] = "Renamed after the merge"
    assert deliver(bot, "pull_request", later, delivery="later").status == 200
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO)
    assert pr.title == "Renamed after the merge"  # the newer snapshot was applied
    assert pr.labels == ["ai-generated"]


def test_a_label_without_a_name_is_refused_naming_the_field(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    payload = example("pull_request_labeled.payload.json")
    payload["pull_request"]["labels"] = [{"id": 1}]
    answer = deliver(bot, "pull_request", payload)
    assert answer.status == 400
    assert "pull_request.labels[0].name" in json.dumps(answer.body)


CLAUDE_BODY = "Adds retries.\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"
MERGE_WEEK = "2019-W20"


def merged_with(body: str, labels: list[str]) -> dict[str, Any]:
    """GitHub's example `closed` delivery, as the merge of the PR (merged at its closing)."""
    payload = example("pull_request_closed.payload.json")
    payload["pull_request"]["merged"] = True
    payload["pull_request"]["merged_at"] = payload["pull_request"]["closed_at"]
    payload["pull_request"]["body"] = body
    payload["pull_request"]["labels"] = [
        {"id": n, "name": name} for n, name in enumerate(labels, 1)
    ]
    return payload


def edited_later(merged: dict[str, Any], body: str, labels: list[str]) -> dict[str, Any]:
    """The same PR's `edited` delivery a day after the merge."""
    later = copy.deepcopy(merged)
    later["action"] = "edited"
    later["changes"] = {"body": {"from": merged["pull_request"]["body"]}}
    later["pull_request"]["updated_at"] = "2019-05-16T10:00:00Z"
    later["pull_request"]["title"] = "Renamed after the merge"
    later["pull_request"]["body"] = body
    later["pull_request"]["labels"] = [{"id": 9, "name": name} for name in labels]
    return later


def ai_share_item(bot: Bot) -> tuple[float | None, str]:
    """The merged PR's line in `--explain ai_share` for its week: 1.0 when AI-assisted, and
    the signals found."""
    (item,) = explain(bot.services.db, "payments", MERGE_WEEK, "ai_share")
    assert item.ref == f"{REPO}#2"
    return item.value, item.detail


def test_a_body_edited_after_the_merge_leaves_the_pr_ai_assisted(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    merged = merged_with(CLAUDE_BODY, [])
    assert deliver(bot, "pull_request", merged).status == 200
    edited = edited_later(merged, "Adds retries.", [])
    assert deliver(bot, "pull_request", edited, delivery="edit").status == 200
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO)
    assert pr.title == "Renamed after the merge"  # the newer snapshot was applied
    assert pr.body == CLAUDE_BODY
    assert ai_share_item(bot) == (1.0, "marker")


def test_a_marker_written_into_the_body_after_the_merge_does_not_count(bot: Bot) -> None:
    add_team(bot, repos=["Codertocat/Hello-World"])
    merged = merged_with("Adds retries.", [])
    assert deliver(bot, "pull_request", merged).status == 200
    edited = edited_later(merged, CLAUDE_BODY, ["ai-assisted"])
    assert deliver(bot, "pull_request", edited, delivery="edit").status == 200
    assert ai_share_item(bot) == (0.0, "no AI signal")


def test_the_merge_sets_body_and_labels_even_after_a_later_edit_arrived(bot: Bot) -> None:
    """GitHub does not promise the order of deliveries: the edit made after the merge may
    arrive first; the merge's own snapshot still decides the signals (the newer title
    stays)."""
    add_team(bot, repos=["Codertocat/Hello-World"])
    merged = merged_with(CLAUDE_BODY, ["ai-generated"])
    edited = edited_later(merged, "Adds retries.", ["released"])
    assert deliver(bot, "pull_request", edited, delivery="edit").status == 200
    assert ai_share_item(bot) == (0.0, "no AI signal")
    assert deliver(bot, "pull_request", merged, delivery="merge").status == 200
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO)
    assert (pr.body, pr.labels) == (CLAUDE_BODY, ["ai-generated"])
    assert pr.title == "Renamed after the merge"
    assert ai_share_item(bot) == (1.0, "marker, label")


@pytest.mark.parametrize(
    ("markers", "body", "marked"),
    [
        ([r"^ai-tool:"], "Scaffold\n\nAI-Tool: gen", True),
        ([r"^ai-tool:"], "no tool here: ai-tool: gen", False),
        # A backreference keeps its meaning beside another team pattern with a group.
        ([r"(x)y", r"(ab)\1"], "abab", True),
        ([r"(x)y", r"(ab)\1"], "abx", False),
        # A global flag cannot join the others: every pattern is then tried on its own.
        ([r"(?s)made by.robot"], "made by\nrobot", True),
        ([r"(?s)made by.robot"], "made by humans", False),
        ([], "🤖 Generated with [Claude Code](https://claude.com/claude-code)", True),
    ],
)
def test_team_markers_match_as_their_own_regular_expressions(
    markers: list[str], body: str, marked: bool
) -> None:
    rules = Rules.for_team(ai_markers=markers)
    assert ("marker" in rules.signals("ann", [], body, [])) is marked
    assert ("marker" in rules.signals("ann", [], "", [body])) is marked
