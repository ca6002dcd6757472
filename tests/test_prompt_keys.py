"""Every text a user reads lives in prompts/: each key the code names exists and fills in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chatbot
from chatbot.decisions.service import DecisionError
from chatbot.digest.catalogue import BY_NAME, HEADLINES, METRICS
from chatbot.errors import UserError
from chatbot.intent.service import IntentError
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR
from chatbot.teams.settings import TeamError, check

CODE = Path(chatbot.__file__).parent
ERROR_KEY = re.compile(r"Error\(\s*\"([a-z_]+\.errors\.[a-z_]+)\"")


def _error_keys() -> set[str]:
    keys: set[str] = set()
    for path in CODE.rglob("*.py"):
        keys |= set(ERROR_KEY.findall(path.read_text()))
    return keys


def test_the_code_raises_domain_errors_by_key() -> None:
    assert len(_error_keys()) >= 10


@pytest.mark.parametrize("key", sorted(_error_keys()))
def test_every_error_key_has_a_text(key: str) -> None:
    text = Prompts(DEFAULT_PROMPTS_DIR).get(key)
    assert isinstance(text, str) and text.strip()


def test_an_error_renders_its_values_from_the_prompts_given(tmp_path: Path) -> None:
    error = DecisionError("decisions.errors.already_superseded", ref="D-1", by="D-2")
    assert str(error) == "D-1 was already superseded by D-2; supersede that one instead."
    (tmp_path / "decisions.toml").write_text('[errors]\nalready_superseded = "{ref} → {by}"\n')
    assert error.text(Prompts(tmp_path)) == "D-1 → D-2"
    assert isinstance(IntentError("intent.errors.gone"), UserError)


def test_every_team_error_key_in_the_code_has_a_text() -> None:
    keys = {key for key in _error_keys() if key.startswith("teams.")}
    assert len(keys) >= 25
    for key in keys:
        assert Prompts(DEFAULT_PROMPTS_DIR).get(key).strip()


# Keys named as string literals by the modules that word through Prompts directly.
NAMED_KEY = re.compile(r"\"((?:teams|doctor)\.[a-z_]+\.[a-z_]+)\"")


def _named_keys() -> set[str]:
    keys: set[str] = set()
    for path in CODE.rglob("*.py"):
        keys |= set(NAMED_KEY.findall(path.read_text()))
    return keys


def test_the_doctor_words_its_warnings_by_key() -> None:
    assert len({key for key in _named_keys() if key.startswith("doctor.")}) >= 12


@pytest.mark.parametrize("key", sorted(_named_keys()))
def test_every_named_key_has_a_text(key: str) -> None:
    """A plain text, or (counted warnings) a `one` and an `other` wording."""
    found = Prompts(DEFAULT_PROMPTS_DIR).get(key)
    texts = [found["one"], found["other"]] if isinstance(found, dict) else [found]
    assert all(isinstance(text, str) and text.strip() for text in texts)


def test_a_team_setting_error_is_worded_by_the_prompts_given(tmp_path: Path) -> None:
    with pytest.raises(TeamError) as caught:
        check("wip-limit", "many")
    assert str(caught.value) == "--wip-limit must be a whole number, got 'many'"
    (tmp_path / "teams.toml").write_text('[errors]\nnot_a_number = "{setting}: {value}?"\n')
    assert caught.value.text(Prompts(tmp_path)) == "wip-limit: many?"
    with pytest.raises(TeamError) as caught:
        check("escape-rule", "label:two words")
    assert caught.value.key == "teams.errors.escape_label_spaces"


def test_every_metric_the_digest_shows_is_named_in_the_prompts(tmp_path: Path) -> None:
    prompts = Prompts(DEFAULT_PROMPTS_DIR)
    assert [view.label_in(prompts) for view in HEADLINES] == [
        "Cycle time",
        "Review time",
        "Change failure rate",
        "Escaped defects",
    ]
    for view in METRICS:
        assert view.label_in(prompts).strip() and view.label == view.label_in(prompts)
    (tmp_path / "digest.toml").write_text('[metrics.wip]\nlabel = "Work in progress"\n')
    assert BY_NAME["wip"].label_in(Prompts(tmp_path)) == "Work in progress"


def test_the_chart_description_is_worded_by_the_prompts_given(tmp_path: Path) -> None:
    from chatbot.digest.chart import chart_alt_text
    from tests import digest_samples

    own = (DEFAULT_PROMPTS_DIR / "digest.toml").read_text()
    assert 'alt_no_data = "{metric}: no data"' in own
    (tmp_path / "digest.toml").write_text(own.replace("{metric}: no data", "{metric} – none"))
    digest = digest_samples.no_data()
    assert "cycle time: no data" in chart_alt_text(digest)
    assert "cycle time – none" in chart_alt_text(digest, Prompts(tmp_path))
