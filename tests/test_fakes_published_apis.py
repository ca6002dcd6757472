"""The fakes are held to the published APIs: Slack's Web API (OpenAPI document plus a sourced
supplement) and GitHub's GraphQL schema. Driven through the real clients, as the bot drives
them: slack_sdk's WebClient and the bot's GitHubClient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.github.api import GitHubApiError, GitHubClient
from chatbot.github.backfill import PULL_REQUESTS, more_query
from tests.fakes.github_api import (
    TOKEN,
    FakeGitHub,
    FakeGitHubServer,
    FakeTimelineItem,
    history,
)
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.fakes.slack_methods import OPENAPI, SUPPLEMENT, methods

REPO = "acme/payments"


@pytest.fixture
def slack(fake_slack: FakeSlack, slack_server: FakeSlackServer) -> WebClient:
    return WebClient(token="xoxb-test-token", base_url=slack_server.api_url)


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as refused:
        call()
    return dict(refused.value.response.data)


def _took_violations(fake: FakeSlack) -> list[str]:
    """What the fake recorded, cleared so the fixture does not fail this test for it."""
    found = [str(v) for v in fake.violations]
    fake.violations.clear()
    return found


# --- Slack: methods and arguments -----------------------------------------------------------
def test_a_method_slack_does_not_have_is_refused_and_recorded(
    slack: WebClient, fake_slack: FakeSlack
) -> None:
    answer = _refusal(lambda: slack.api_call("chat.postMesage", json={"channel": "C1"}))
    assert answer["error"] == "unknown_method"
    assert _took_violations(fake_slack) == [
        "chat.postMesage: unknown_method (no method 'chat.postMesage' in Slack's Web API)"
    ]


def test_an_argument_the_method_does_not_take_is_refused(
    slack: WebClient, fake_slack: FakeSlack
) -> None:
    answer = _refusal(lambda: slack.chat_postMessage(channel="C1", text="hi", thread="1.2"))
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == ["[ERROR] unknown argument: thread"]
    [violation] = _took_violations(fake_slack)
    assert violation.startswith("chat.postMessage: invalid_arguments")
    assert not fake_slack.messages  # refused before anything was posted


def test_a_missing_required_argument_is_refused(slack: WebClient, fake_slack: FakeSlack) -> None:
    answer = _refusal(lambda: slack.api_call("chat.postMessage", json={"text": "hi"}))
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required argument: channel"]
    # Required by Slack's method page although the 2020 document leaves it optional.
    answer = _refusal(lambda: slack.api_call("conversations.replies", params={"channel": "C1"}))
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required argument: ts"]
    assert len(_took_violations(fake_slack)) == 2


def test_newer_methods_and_arguments_come_from_the_supplement(
    slack: WebClient, fake_slack: FakeSlack
) -> None:
    metadata = {"event_type": "digest_posted", "event_payload": {"slot": "1"}}
    slack.chat_postMessage(channel="C1", text="hello", metadata=metadata, team_id="T1")
    slack.files_upload_v2(channel="C1", content="# pack", filename="pack.md", title="Pack")
    [posted] = fake_slack.of("chat.postMessage", ok=True)
    ts = posted.response["ts"]
    plain = slack.conversations_history(channel="C1", latest=ts, inclusive=True, limit=1)
    assert "metadata" not in plain["messages"][0]  # only when asked for
    full = slack.conversations_history(
        channel="C1", latest=ts, inclusive=True, limit=1, include_all_metadata=True
    )
    assert full["messages"][0]["metadata"] == metadata
    [complete] = fake_slack.of("files.completeUploadExternal", ok=True)
    assert complete.params["channel_id"] == "C1" and "channel" not in complete.params
    assert fake_slack.violations == []


def test_the_supplement_only_adds_what_the_2020_document_lacks() -> None:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    supplement = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))
    published: dict[str, set[str]] = {
        path.strip("/"): {p["name"] for op in ops.values() for p in op.get("parameters", [])}
        for path, ops in document["paths"].items()
    }
    for name, entry in supplement["methods"].items():
        assert name not in published, name
        assert entry["source"].startswith("https://")
    for name, entry in supplement["arguments"].items():
        assert not set(entry["arguments"]) & published[name], name
        assert entry["source"].startswith("https://")
    assert {"chat.postMessage", "files.completeUploadExternal"} <= set(methods())


def test_an_upload_to_a_channel_the_bot_is_not_in_is_refused(
    slack: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.not_member.add("C9")
    answer = _refusal(lambda: slack.files_upload_v2(channel="C9", content="x", filename="x.md"))
    assert answer["error"] == "not_in_channel"


# --- Slack: threads as Slack keeps them ------------------------------------------------------
def _thread(fake: FakeSlack) -> None:
    fake.add_message("C1", "1700000001.000100", "Top level before")
    fake.add_message("C1", "1700000002.000100", "Parent")
    for n in (2, 3, 4):
        fake.add_message("C1", f"1700000002.00010{n}", f"Reply {n}", thread_ts="1700000002.000100")
    fake.add_message("C1", "1700000003.000100", "Top level after")


def _texts(answer: Any) -> list[str]:
    return [m["text"] for m in answer["messages"]]


def test_history_lists_top_level_messages_only(slack: WebClient, fake_slack: FakeSlack) -> None:
    _thread(fake_slack)
    answer = slack.conversations_history(channel="C1")
    assert _texts(answer) == ["Top level after", "Parent", "Top level before"]
    reply = "1700000002.000103"
    answer = slack.conversations_history(
        channel="C1", latest=reply, oldest=reply, inclusive=True, limit=1
    )
    assert _texts(answer) == []
    answer = slack.conversations_history(channel="C1", latest="1700000002.000100", limit=1)
    assert _texts(answer) == ["Top level before"]  # `latest` itself only when inclusive


def test_replies_for_a_reply_start_with_the_parent(slack: WebClient, fake_slack: FakeSlack) -> None:
    _thread(fake_slack)
    reply = "1700000002.000103"
    assert _texts(slack.conversations_replies(channel="C1", ts=reply)) == [
        "Parent",
        "Reply 2",
        "Reply 3",
        "Reply 4",
    ]
    ranged = slack.conversations_replies(
        channel="C1", ts=reply, latest=reply, oldest=reply, inclusive=True
    )
    assert _texts(ranged) == ["Parent", "Reply 3"]
    only = slack.conversations_replies(channel="C1", ts=reply, latest=reply, limit=1)
    assert _texts(only) == ["Parent"] and only["has_more"]
    parent = fake_slack.messages[("C1", "1700000002.000100")]
    assert parent["thread_ts"] == "1700000002.000100" and parent["reply_count"] == 3
    answer = _refusal(lambda: slack.conversations_replies(channel="C1", ts="1700000009.1"))
    assert answer["error"] == "thread_not_found"


# --- GitHub: queries held to the published schema --------------------------------------------
@pytest.fixture(scope="module")
def github_server() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer() as server:
        yield server


@pytest.fixture
def github(github_server: FakeGitHubServer) -> FakeGitHub:
    github_server.fake.reset()
    github_server.fake.add_repo(REPO, history(3, reviews=2, commits=2))
    return github_server.fake


@pytest.fixture
def client(github_server: FakeGitHubServer) -> GitHubClient:
    return GitHubClient(github_server.url, TOKEN, sleep=lambda _s: None, now=lambda: 0.0)


VARIABLES = {"owner": "acme", "name": "payments"}


def test_a_field_github_does_not_have_is_refused(client: GitHubClient, github: FakeGitHub) -> None:
    query = PULL_REQUESTS.replace("submittedAt", "submitted")
    with pytest.raises(GitHubApiError, match="GitHub refused the query"):
        client.query(query, {**VARIABLES, "first": 10})
    [violation] = github.violations
    assert violation.startswith("Cannot query field 'submitted' on type 'PullRequestReview'.")
    github.violations.clear()


def test_variables_and_syntax_are_checked(client: GitHubClient, github: FakeGitHub) -> None:
    with pytest.raises(GitHubApiError):
        client.query(PULL_REQUESTS, VARIABLES)  # `$first: Int!` not given
    wrong_type = PULL_REQUESTS.replace("$first: Int!", "$first: String!")
    with pytest.raises(GitHubApiError):
        client.query(wrong_type, {**VARIABLES, "first": "10"})
    with pytest.raises(GitHubApiError):
        client.query("query { repository(owner: 1", {})
    assert len(github.violations) == 3
    assert "$first" in github.violations[0] and "Int!" in github.violations[0]
    assert "'String!' used in position expecting type 'Int'" in github.violations[1]
    assert "Syntax Error" in github.violations[2]
    github.violations.clear()


def test_the_bots_queries_are_valid_and_answered(client: GitHubClient, github: FakeGitHub) -> None:
    data = client.query(PULL_REQUESTS, {**VARIABLES, "first": 2})
    page = data["repository"]["pullRequests"]
    assert [pr["number"] for pr in page["nodes"]] == [3, 2]  # UPDATED_AT DESC, from the AST
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    asked = """fullDatabaseId number title body isDraft state createdAt updatedAt mergedAt
        closedAt headRefName baseRefName headRefOid isCrossRepository headRepositoryOwner
        mergeCommit author commits reviews timelineItems labels additions deletions"""
    assert set(page["nodes"][0]) == set(asked.split())  # what was asked, nothing else
    for connection in ("commits", "reviews", "timelineItems"):
        more = client.query(more_query(connection), {**VARIABLES, "number": 2, "first": 1})
        assert more["repository"]["pullRequest"][connection]["nodes"]
    assert github.violations == []


def test_arguments_are_read_from_the_parsed_query(client: GitHubClient, github: FakeGitHub) -> None:
    (pr,) = github.repos[REPO][:1]
    pr.timeline = [
        FakeTimelineItem("LabeledEvent", "2026-06-01T11:00:00Z"),
        FakeTimelineItem("ReadyForReviewEvent", "2026-06-01T12:00:00Z"),
    ]
    query = """
    query($owner: String!, $name: String!, $order: IssueOrder, $types: [PullRequestTimelineItemsItemType!]) {
      repository(owner: $owner, name: $name) {
        pullRequests(first: 5, orderBy: $order) {
          nodes { number timelineItems(first: 5, itemTypes: $types) { nodes { __typename } } }
        }
      }
    }"""  # noqa: E501 (one GraphQL line)
    order = {"field": "CREATED_AT", "direction": "ASC"}
    data = client.query(query, {**VARIABLES, "order": order, "types": ["READY_FOR_REVIEW_EVENT"]})
    nodes = data["repository"]["pullRequests"]["nodes"]
    assert [n["number"] for n in nodes] == [1, 2, 3]
    assert nodes[0]["timelineItems"]["nodes"] == [{"__typename": "ReadyForReviewEvent"}]
    assert github.violations == []


def test_github_limits_are_answers_not_violations(client: GitHubClient, github: FakeGitHub) -> None:
    with pytest.raises(GitHubApiError, match="exceeds the `first` limit of 100"):
        client.query(PULL_REQUESTS, {**VARIABLES, "first": 101})
    no_first = (
        'query { repository(owner: "acme", name: "payments") { pullRequests { totalCount } } }'
    )
    with pytest.raises(GitHubApiError, match="You must provide a `first` or `last` value"):
        client.query(no_first, {})
    with pytest.raises(GitHubApiError, match="Could not resolve to a Repository"):
        client.query(PULL_REQUESTS, {"owner": "acme", "name": "nope", "first": 1})
    assert github.violations == []
