"""Rendering the digest: headline numbers first, changes with arrows, hints only when worse,
nobody named in the channel, and within Block Kit limits whatever the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatbot.digest.chart import chart_alt_text, render_chart
from chatbot.metrics.base import ExplainItem
from chatbot.prompts import Prompts
from chatbot.slack.blockkit import message_problems, view_problems
from chatbot.slack.blocks.checkin import checkin_blocks
from chatbot.slack.blocks.digest import (
    EXPLAIN_PAGE_ITEMS,
    digest_blocks,
    digest_fallback,
    explain_modal,
    home_digest_section,
    leader_dm_blocks,
)
from chatbot.slack.blocks.team_setup import setup_modal
from tests import digest_samples
from tests.fakes.block_kit import message_errors, view_errors

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
PROMPTS = Prompts(PROMPTS_DIR)


def _valid_message(text: str, blocks: list[dict[str, Any]]) -> None:
    assert message_problems(text, blocks) == []
    assert message_errors(text, blocks) == []


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


@pytest.mark.parametrize("name", sorted(digest_samples.SAMPLES))
def test_every_sample_fits_block_kit(name: str) -> None:
    digest = digest_samples.SAMPLES[name]()
    blocks = digest_blocks(digest, PROMPTS)
    _valid_message(digest_fallback(digest, PROMPTS), blocks)
    _valid_message("dm", leader_dm_blocks(digest, PROMPTS, "C1"))
    assert blocks[0]["type"] == "header"


def test_headlines_come_first_with_changes_and_n() -> None:
    blocks = digest_blocks(digest_samples.every_metric_worse(), PROMPTS)
    fields = blocks[2]["fields"]
    labels = [f["text"].split("\n")[0] for f in fields]
    assert labels == ["*Cycle time*", "*Review time*", "*Change failure rate*", "*Escaped defects*"]
    assert "45.0 h" in fields[0]["text"] and "▲ +15.0 h" in fields[0]["text"]
    cycle = next(b for b in blocks if b.get("block_id") == "digest_cycle_time")["text"]["text"]
    assert "vs last week" in cycle and "vs baseline" in cycle and "n = 12" in cycle
    assert cycle.index("▲ +15.0 h vs last week") < cycle.index("vs baseline")


def test_hint_only_for_metrics_that_got_worse() -> None:
    hint = PROMPTS.get("digest.hints.review_time")
    worse = _text(digest_blocks(digest_samples.every_metric_worse(), PROMPTS))
    better = _text(digest_blocks(digest_samples.every_metric_better(), PROMPTS))
    assert hint in worse and hint not in better
    for name in PROMPTS.get("digest.hints"):
        assert PROMPTS.get(f"digest.hints.{name}") in worse, name
        assert PROMPTS.get(f"digest.hints.{name}") not in better, name
    # higher is better for the orchestration share: it fell, so it got worse
    assert "▼ −13 pts vs last week" in worse


def test_channel_names_nobody_but_the_leaders_dm_does() -> None:
    digest = digest_samples.every_metric_worse()
    channel = _text(digest_blocks(digest, PROMPTS)) + digest_fallback(digest, PROMPTS)
    assert "Ann Lee" not in channel and "Bo Chen" not in channel
    assert "1 over the limit of 2" in channel
    dm = _text(leader_dm_blocks(digest, PROMPTS, "C1"))
    assert "Ann Lee" in dm and "Got worse" in dm


def test_checkin_shares_need_three_answers() -> None:
    digest = digest_samples.every_metric_worse()
    digest["metrics"]["orchestration"]["responses"] = 2
    text = _text(digest_blocks(digest, PROMPTS))
    assert "fewer than 3 answers" in text
    assert "interrupts 35%" not in text and PROMPTS.get("digest.hints.orchestration") not in text
    digest["metrics"]["orchestration"]["responses"] = 3
    assert "interrupts 35%" in _text(digest_blocks(digest, PROMPTS))


def test_no_data_says_what_to_do() -> None:
    text = _text(digest_blocks(digest_samples.no_data(), PROMPTS))
    assert "No data for this week yet" in text and "team doctor payments" in text
    assert "No deployment seen for 14 days" in text


def test_one_item_shows_it_without_comparisons() -> None:
    blocks = digest_blocks(digest_samples.one_item(), PROMPTS)
    cycle = next(b for b in blocks if b.get("block_id") == "digest_cycle_time")["text"]["text"]
    assert "30.5 h" in cycle and "n = 1" in cycle and "– vs last week" in cycle
    assert ":warning:" not in _text(blocks)


def test_long_times_read_in_days_and_share_changes_in_points() -> None:
    digest = digest_samples.one_item()
    digest["metrics"]["cycle_time"].update(median_hours=60.0, previous=12.0)
    digest["metrics"]["change_failure_rate"].update(value=0.25, previous=0.1, total=4)
    blocks = digest_blocks(digest, PROMPTS)
    cycle = next(b for b in blocks if b.get("block_id") == "digest_cycle_time")["text"]["text"]
    assert "2.5 d" in cycle and "▲ +2.0 d vs last week" in cycle
    failure = _text([b for b in blocks if b.get("block_id") == "digest_change_failure_rate"])
    assert "25%" in failure and "▲ +15 pts vs last week" in failure


def test_oversize_is_cut_escaped_and_counted() -> None:
    digest = digest_samples.oversize()
    blocks = digest_blocks(digest, PROMPTS)
    text = _text(blocks)
    assert "<!here>" not in text and "&lt;!here&gt;" in text
    assert "and 8 more" in text or "more; `chatbot team doctor" in text
    assert "30 over the limit of 2" in text
    dm = leader_dm_blocks(digest, PROMPTS, "C1")
    _valid_message("dm", dm)
    dm_text = _text(dm)
    assert "<!channel>" not in dm_text and "more" in dm_text  # 30 long names do not fit


def test_ten_thousand_character_hints_are_cut(tmp_path: Path) -> None:
    prompts = digest_samples.long_hints(PROMPTS_DIR, tmp_path)
    digest = digest_samples.oversize()
    _valid_message("x", digest_blocks(digest, prompts))
    _valid_message("x", leader_dm_blocks(digest, prompts, "C1"))


def _items(count: int) -> list[ExplainItem]:
    return [
        ExplainItem(
            ref=f"acme/payments#{i} <!channel>",
            counted=i % 4 != 0,
            value=float(i),
            reason=None if i % 4 else "no_approval",
            times={"start": "2026-11-16T10:00:00Z", "end": "2026-11-17T12:30:00Z"},
            detail="d" * 2000,
        )
        for i in range(count)
    ]


def test_explain_modal_pages_beyond_the_modal_limits() -> None:
    items = _items(EXPLAIN_PAGE_ITEMS * 3 + 5)
    first = explain_modal(items, PROMPTS, "payments", "2026-W47", "review_time")
    assert view_problems(first) == [] and view_errors(first) == []
    meta = json.loads(first["private_metadata"])
    assert meta == {"team": "payments", "week": "2026-W47", "metric": "review_time", "page": 1}
    assert "Page 1 of 4" in _text(first["blocks"]) and "&lt;!channel&gt;" in _text(first["blocks"])
    last = explain_modal(items, PROMPTS, "payments", "2026-W47", "review_time", page=4)
    assert view_problems(last) == [] and "acme/payments#" + str(len(items) - 1) in _text(last)
    buttons = [e for b in last["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == ["3"]
    empty = explain_modal([], PROMPTS, "payments", "2026-W47", "wip")
    assert "Nothing was counted" in _text(empty["blocks"]) and view_errors(empty) == []


def test_checkin_and_home_and_setup_fit() -> None:
    blocks = checkin_blocks("payments", 1, "2026-W47", PROMPTS, 0.4, None, note="saved")
    _valid_message("x", blocks)
    assert blocks[1]["accessory"]["initial_option"]["value"] == "1|2026-W47|40"
    home = home_digest_section(PROMPTS, [("payments", digest_samples.every_metric_worse())] * 12)
    assert len(home) == 11 and message_problems("x", home) == []
    from types import SimpleNamespace

    team = SimpleNamespace(
        name="payments",
        channel_id="C1",
        tz="Europe/Berlin",
        digest_weekday=0,
        checkin_weekday=4,
        orchestrators=["U1"],
        repos=["acme/payments"] * 300,
    )
    view = setup_modal(team, PROMPTS)
    assert view_problems(view) == [] and view_errors(view) == []
    assert view_problems(setup_modal(None, PROMPTS, "C1")) == []


def test_chart_is_a_png_with_alt_text() -> None:
    for make in digest_samples.SAMPLES.values():
        digest = make()
        png = render_chart(digest)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 800 and height >= 700
    alt = chart_alt_text(digest_samples.every_metric_worse())
    assert "cycle time from 30.0 h to 45.0 h" in alt
    assert "cycle time: no data" in chart_alt_text(digest_samples.no_data())
