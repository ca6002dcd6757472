"""Rendering the digest: headline numbers first, changes with arrows, hints only when worse,
nobody named in the channel, and within Block Kit limits whatever the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatbot.digest.catalogue import BY_NAME, HEADLINES
from chatbot.digest.chart import (
    GOOD_COLOUR,
    WORSE_COLOUR,
    chart_alt_text,
    chart_title,
    current_point_colour,
    render_chart,
    small_sample_weeks,
    trend_in_unit,
)
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
    # cycle time in days (45 h), review time in hours, whatever their size (docs/metrics.md)
    assert "1.9 d" in fields[0]["text"] and "▲ +0.6 d worse" in fields[0]["text"]
    assert " h" in fields[1]["text"] and " d" not in fields[1]["text"]
    cycle = next(b for b in blocks if b.get("block_id") == "digest_cycle_time")["text"]["text"]
    assert "vs last week" in cycle and "vs baseline" in cycle and "n = 12" in cycle
    assert cycle.index("▲ +0.6 d worse vs last week") < cycle.index("vs baseline")


def test_hint_only_for_metrics_that_got_worse() -> None:
    hint = PROMPTS.get("digest.hints.review_time")
    worse = _text(digest_blocks(digest_samples.every_metric_worse(), PROMPTS))
    better = _text(digest_blocks(digest_samples.every_metric_better(), PROMPTS))
    assert hint in worse and hint not in better
    for name in PROMPTS.get("digest.hints"):
        assert PROMPTS.get(f"digest.hints.{name}") in worse, name
        assert PROMPTS.get(f"digest.hints.{name}") not in better, name
    # higher is better for the orchestration share: it fell, so it got worse, and says so
    assert "▼ −13 pts worse vs last week" in worse
    assert "worse vs last week" not in better and "better vs last week" in better


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
    assert "1.3 d" in cycle and "n = 1" in cycle and "– vs last week" in cycle
    assert ":warning:" not in _text(blocks)


def test_long_times_read_in_days_and_share_changes_in_points() -> None:
    digest = digest_samples.one_item()
    digest["metrics"]["cycle_time"].update(median_hours=60.0, previous=12.0)
    digest["metrics"]["change_failure_rate"].update(value=0.25, previous=0.1, total=4)
    blocks = digest_blocks(digest, PROMPTS)
    cycle = next(b for b in blocks if b.get("block_id") == "digest_cycle_time")["text"]["text"]
    assert "2.5 d" in cycle and "▲ +2.0 d worse vs last week" in cycle
    failure = _text([b for b in blocks if b.get("block_id") == "digest_change_failure_rate"])
    assert "25%" in failure and "▲ +15 pts worse vs last week" in failure


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
        ai_agents=["robo-dev"] * 300,
        ai_markers=[r"^ai-tool:\s+\w+"] * 300,
        ai_labels=["ai-assisted"] * 300,
        goals={"cycle_time": {"relative": -0.4}, "review_time": {"absolute": 8.0}},
    )
    view = setup_modal(team, PROMPTS)
    assert view_problems(view) == [] and view_errors(view) == []
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert fields["goals"]["initial_value"] == "cycle_time=-40%\nreview_time=8h"
    assert fields["ai_markers"]["multiline"] and not fields["ai_agents"].get("multiline")
    assert view_problems(setup_modal(None, PROMPTS, "C1")) == []


def test_chart_is_a_png_with_alt_text() -> None:
    for make in digest_samples.SAMPLES.values():
        digest = make()
        png = render_chart(digest)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 800 and height >= 700
    alt = chart_alt_text(digest_samples.every_metric_worse())
    assert "cycle time from 1.2 d to 1.9 d" in alt
    assert "cycle time: no data" in chart_alt_text(digest_samples.no_data())


def _metric_section(digest: dict[str, Any], name: str) -> str:
    blocks = digest_blocks(digest, PROMPTS)
    return next(b for b in blocks if b.get("block_id") == f"digest_{name}")["text"]["text"]


def test_what_to_check_says_whether_last_week_or_the_baseline_made_it_worse() -> None:
    hint = PROMPTS.get("digest.hints.review_time")
    digest = digest_samples.one_item()
    review = digest["metrics"]["review_time"]
    # +31% against the baseline, flat against last week: still worse (docs/metrics.md)
    review.update(median_hours=6.55, previous=6.55, baseline=5.0, n=6)
    text = _metric_section(digest, "review_time")
    assert hint in text and "(worse than the baseline)" in text
    review.update(previous=5.0, baseline=6.55)
    text = _metric_section(digest, "review_time")
    assert hint in text and "(worse than last week)" in text
    review.update(previous=5.0, baseline=5.0)
    assert "worse than last week and the baseline" in _metric_section(digest, "review_time")
    # within 10 % on both sides: no hint; rising from 0 is worse
    review.update(previous=6.0, baseline=6.0)
    assert hint not in _metric_section(digest, "review_time")
    churn = digest["metrics"]["late_intent_churn"]
    churn.update(revisions=3, previous=3, baseline=0)
    assert "worse than the baseline" in _metric_section(digest, "late_intent_churn")
    dm = _text(leader_dm_blocks(digest, PROMPTS, "C1"))
    assert "worse than the baseline" in dm


def test_a_running_week_is_marked_partial_in_the_message_the_dm_and_the_chart() -> None:
    digest = digest_samples.every_metric_worse()
    for rendered in (digest_blocks(digest, PROMPTS), leader_dm_blocks(digest, PROMPTS)):
        assert "not over yet" not in _text(rendered)
    assert "partial" not in chart_title(digest, PROMPTS)
    digest["partial"] = True
    for rendered in (digest_blocks(digest, PROMPTS), leader_dm_blocks(digest, PROMPTS)):
        assert "2026-W47 is not over yet" in _text(rendered)
    assert "partial" in chart_title(digest, PROMPTS)


def test_the_chart_colours_the_current_point_by_meaning_in_the_metric_unit() -> None:
    worse, better = digest_samples.every_metric_worse(), digest_samples.every_metric_better()
    for view in HEADLINES:
        assert current_point_colour(view, worse["metrics"][view.name]) == WORSE_COLOUR
        assert current_point_colour(view, better["metrics"][view.name]) == GOOD_COLOUR
    # cycle time is drawn in days, rates in %, like the title and the axis
    cycle, failure = (worse["metrics"][n] for n in ("cycle_time", "change_failure_rate"))
    assert trend_in_unit(BY_NAME["cycle_time"], cycle)[-1] == cycle["median_hours"] / 24
    assert trend_in_unit(BY_NAME["change_failure_rate"], failure)[-1] == failure["value"] * 100
    failure["trend_n"] = [None, 1, 4, 5, 20, None, 3, 10]
    assert small_sample_weeks(failure) == [False, True, True, False, False, False, True, False]
    png = render_chart(worse, PROMPTS, goals={"cycle_time": 24.0, "change_failure_rate": 0.05})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
