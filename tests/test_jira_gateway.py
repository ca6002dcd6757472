"""The real `jira` client, through our gateway, against a local Jira in both flavours."""

from __future__ import annotations

import time

import pytest

from chatbot.jira.document import Checklist, Doc, Heading, Paragraph
from chatbot.jira.errors import JiraAuthError, JiraNotFound, JiraRejected, JiraUnavailable
from chatbot.jira.gateway import CLOUD, DATA_CENTER, JiraGateway, gateway_from_settings
from chatbot.settings import Settings
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)


def _gateway(
    server: FakeJiraServer,
    flavour: str,
    timeout: float = 2.0,
    sleeps: list[float] | None = None,
    **override: object,
) -> JiraGateway:
    settings = Settings(
        _env_file=None,
        **{
            **jira_settings(server.url, flavour, timeout),  # type: ignore[call-arg]
            **override,
        },
    )
    gateway = gateway_from_settings(settings)
    if sleeps is not None:
        gateway._sleep = sleeps.append
    return gateway


DOC = Doc(
    [
        Heading("Outcome"),
        Paragraph("Agents refund in one click"),
        Checklist([(True, "refund lands"), (False, "403 without role")]),
    ]
)


def test_settings_choose_the_deployment(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    gateway = _gateway(jira_server, flavour)
    assert gateway.config.deployment == (CLOUD if flavour == "cloud" else DATA_CENTER)
    info = gateway.server_info()
    assert info.deployment_type == ("Cloud" if flavour == "cloud" else "Server")
    assert gateway.myself()["displayName"] == "Throughline Bot"
    assert [r.path for r in fake_jira.requests] == [
        f"/rest/api/{fake_jira.api}/serverInfo",
        f"/rest/api/{fake_jira.api}/myself",
    ]


def test_create_comment_and_remote_link_speak_the_flavours_body(
    jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    gateway = _gateway(jira_server, flavour)
    issue = gateway.create_issue(
        "PAY",
        "Story",
        "Refunds",
        DOC,
        ["throughline", "throughline-x"],
        {"throughline": {"idempotency_key": "x"}},
    )
    stored = fake_jira.issues[issue.key]
    assert stored.properties["throughline"] == {"idempotency_key": "x"}
    assert "throughline-x" in stored.fields["labels"]
    if flavour == "cloud":
        assert stored.fields["description"]["type"] == "doc"
    else:
        assert (
            "h3. Outcome" in stored.fields["description"]
            and "(/) refund lands" in stored.fields["description"]
        )
    comment_id = gateway.add_comment(issue.key, DOC)
    gateway.update_comment(issue.key, comment_id, Doc([Paragraph("edited")]))
    assert len(stored.comments) == 1
    assert "edited" in [c.text for c in gateway.comments(issue.key)][0]
    for title in ("first", "second"):
        gateway.upsert_remote_link(issue.key, "throughline-intent-1", "https://slack/x", title)
    assert len(stored.remote_links) == 1
    assert stored.remote_links["throughline-intent-1"]["object"]["title"] == "second"
    assert all(r.path.startswith(f"/rest/api/{fake_jira.api}/") for r in fake_jira.requests)
    assert len(fake_jira.requests) == 6  # one HTTP request per gateway call, no hidden extras


def test_unknown_key_and_project(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    gateway = _gateway(jira_server, flavour)
    with pytest.raises(JiraNotFound):
        gateway.get_issue("PAY-999")
    with pytest.raises(JiraNotFound):
        gateway.add_comment("PAY-999", DOC)
    with pytest.raises(JiraRejected):
        gateway.create_issue("NOPE", "Story", "x", DOC, [], {})


def test_bad_credentials_are_an_auth_error(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    wrong = {"jira_api_token": "wrong"} if flavour == "cloud" else {"jira_pat": "wrong"}
    gateway = _gateway(jira_server, flavour, **wrong)
    with pytest.raises(JiraAuthError) as err:
        gateway.myself()
    assert err.value.status == 401


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_5xx_are_not_retried_by_the_client(
    jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str, status: int
) -> None:
    """The jira client's ResilientSession would sleep and retry; ours hands that to the outbox."""
    gateway = _gateway(jira_server, flavour)
    fake_jira.add_issue("PAY-1")
    fake_jira.fail_next(status, retry_after=7 if status != 500 else None)
    started = time.monotonic()
    with pytest.raises(JiraUnavailable) as err:
        gateway.get_issue("PAY-1")
    assert time.monotonic() - started < 1.0
    assert err.value.status == status
    assert err.value.retry_after == (7 if status != 500 else None)
    assert len(fake_jira.requests) == 1
    assert gateway.get_issue("PAY-1").key == "PAY-1"


def test_a_jira_that_never_answers_times_out(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    gateway = _gateway(jira_server, flavour, timeout=0.3)
    gate = fake_jira.hold()
    started = time.monotonic()
    with pytest.raises(JiraUnavailable, match="did not answer"):
        gateway.add_comment("PAY-1", DOC)
    assert time.monotonic() - started < 3
    gate.set()


def test_search_pages_through_everything(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    for n in range(1, 6):
        fake_jira.add_issue(f"PAY-{n}")
    sleeps: list[float] = []
    gateway = _gateway(jira_server, flavour, sleeps=sleeps)
    fake_jira.fail_next(429, retry_after=3, path_contains="search")
    keys = [i["key"] for i in gateway.search("project = PAY", page_size=2)]
    assert keys == [f"PAY-{n}" for n in range(1, 6)]
    assert sleeps == [3.0]  # waited exactly as long as Jira asked
    path = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    pages = fake_jira.of("GET", "search")
    assert {r.path for r in pages} == {path}
    assert len(pages) == 4  # the 429, then three pages of 2, 2, 1
    if flavour == "cloud":
        assert [r.query.get("nextPageToken") for r in pages[1:]] == [None, "2", "4"]
    else:
        assert [r.query["startAt"] for r in pages[1:]] == ["0", "2", "4"]


def test_comment_listing_is_paged(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
) -> None:
    fake_jira.add_issue("PAY-1")
    gateway = _gateway(jira_server, flavour)
    for n in range(5):
        gateway.add_comment("PAY-1", Doc([Paragraph(f"c{n}")]))
    texts = [c.text for c in gateway.comments("PAY-1", page_size=2)]
    assert [t.strip() for t in texts] == [f"c{n}" for n in range(5)]
    assert len(fake_jira.of("GET", "/comment$")) == 3


# --- the one retry loop, as every repeatable read meets it -----------------------------------
READS = {
    "search": lambda g: [i["key"] for i in g.search("project = PAY")],
    "search_page": lambda g: [i["key"] for i in g.search_page("project = PAY", ["summary"]).issues],
    "statuses": lambda g: sorted({s["name"] for s in g.statuses()} & {"To Do"}),
}


def _recording(server: FakeJiraServer, flavour: str, sleeps: list[float]) -> JiraGateway:
    settings = Settings(_env_file=None, **jira_settings(server.url, flavour))  # type: ignore[call-arg]
    return gateway_from_settings(settings, sleep=sleeps.append)


@pytest.mark.parametrize("read", sorted(READS))
@pytest.mark.parametrize(
    ("status", "retry_after", "waited"),
    [
        (429, 0, [0.0, 0.0, 0.0]),  # "again now", three times: still retried
        (429, 7, [7.0, 7.0, 7.0]),  # exactly as long as Jira asks
        (503, None, [1.0, 2.0, 4.0]),  # no Retry-After: back off 1, 2, 4 s
        (500, None, [1.0, 2.0, 4.0]),
    ],
)
def test_every_read_waits_as_jira_asks_and_tries_again(
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
    read: str,
    status: int,
    retry_after: int | None,
    waited: list[float],
) -> None:
    fake_jira.add_issue("PAY-1")
    sleeps: list[float] = []
    gateway = _recording(jira_server, flavour, sleeps)
    fake_jira.fail_next(status, times=3, retry_after=retry_after)
    expected = ["To Do"] if read == "statuses" else ["PAY-1"]
    assert READS[read](gateway) == expected
    assert sleeps == waited
    assert len(fake_jira.requests) == 4  # three refused tries, then the answer


def test_a_read_gives_up_after_its_attempts_with_jiras_answer(
    jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    sleeps: list[float] = []
    gateway = _recording(jira_server, flavour, sleeps)
    fake_jira.fail_next(503, times=100)
    with pytest.raises(JiraUnavailable) as err:
        list(gateway.search("project = PAY"))
    assert err.value.status == 503
    assert len(fake_jira.requests) == gateway.read_attempts == 6
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]  # no wait after the last try


def test_a_huge_retry_after_is_capped(
    jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    sleeps: list[float] = []
    gateway = _recording(jira_server, flavour, sleeps)
    fake_jira.fail_next(429, retry_after=86400)
    gateway.statuses()
    assert sleeps == [300.0]


def test_the_outbox_search_tries_once_and_leaves_the_wait_to_its_clock(
    jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    sleeps: list[float] = []
    gateway = _recording(jira_server, flavour, sleeps)
    fake_jira.fail_next(429, retry_after=0)
    with pytest.raises(JiraUnavailable) as err:
        list(gateway.search("project = PAY", wait_on_429=False))
    assert err.value.retry_after == 0.0
    assert sleeps == [] and len(fake_jira.requests) == 1
