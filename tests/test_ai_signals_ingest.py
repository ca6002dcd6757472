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

from chatbot.github.models import GitCommit, PullRequest
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
