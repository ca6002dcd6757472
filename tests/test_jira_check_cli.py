"""`chatbot jira check` against the fake Jira, Cloud and Data Center."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import Invoked, invoke_chatbot
from tests.fakes.jira_api import CLOUD_EMAIL, CLOUD_TOKEN, DC_PAT, FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
)


def _check(tmp: Path, **env: str) -> Invoked:
    database = f"sqlite:///{tmp / 'check.db'}"
    return invoke_chatbot("jira", "check", cwd=tmp, env={"DATABASE_URL": database, **env})


def _creds(flavour: str) -> dict[str, str]:
    if flavour == "cloud":
        return {"JIRA_EMAIL": CLOUD_EMAIL, "JIRA_API_TOKEN": CLOUD_TOKEN}
    return {"JIRA_PAT": DC_PAT}


def test_check_says_which_jira_answered(
    tmp_path: Path, jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    result = _check(tmp_path, JIRA_URL=jira_server.url, **_creds(flavour))
    assert result.returncode == 0, result.stderr
    assert ("Jira Cloud answered" if flavour == "cloud" else "Jira Data Center answered") in (
        result.stdout.replace("\n", " ")
    )


def test_check_names_bad_credentials_without_printing_them(
    tmp_path: Path, jira_server: FakeJiraServer, fake_jira: FakeJira, flavour: str
) -> None:
    wrong = {
        k: "wrong-secret-value" if k != "JIRA_EMAIL" else v for k, v in _creds(flavour).items()
    }
    result = _check(tmp_path, JIRA_URL=jira_server.url, **wrong)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "refused the credentials" in result.stderr.replace("\n", " ")
    assert "wrong-secret-value" not in result.stderr + result.stdout


def test_check_without_settings(tmp_path: Path) -> None:
    result = _check(tmp_path)
    assert result.returncode == 2 and "Jira is not configured" in result.stderr
