"""`chatbot digest`: the weekly digest in the terminal, as JSON, or the work behind a figure."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.text import Text

from chatbot.cli_support import console, err, fail, services_or_exit
from chatbot.cli_tables import (
    FormatOption,
    JsonValue,
    Listing,
    OutputFormat,
    hours_as_days,
    hours_as_hours,
    moment,
    print_listing,
)
from chatbot.digest.catalogue import BY_NAME as VIEWS
from chatbot.digest.catalogue import fmt, fmt_change
from chatbot.prompts import Prompts

# Units are fixed per metric (docs/metrics.md): cycle time in days, review time in hours.
_DURATION = {"cycle_time": hours_as_days, "review_time": hours_as_hours}
_SHARES = {"orchestration"}


def digest(
    team: Annotated[str, typer.Option("--team", help="The team's name (chatbot team list).")],
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week like 2026-W47; default: the last complete one."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", metavar="", help="Print JSON (the same as --format json).")
    ] = False,
    explain_metric: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="METRIC",
            help="List every item behind one metric, e.g. cycle_time or wip "
            "(a name it does not know lists the valid ones).",
        ),
    ] = None,
    post: Annotated[
        bool,
        typer.Option(
            "--post", metavar="", help="Post it to the team's channel now (takes the slot)."
        ),
    ] = False,
    again: Annotated[
        bool, typer.Option("--again", metavar="", help="With --post: post once more, on purpose.")
    ] = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """The weekly digest of a team: headline figures, change against last week and baseline.

    Cycle time is in days, review time in hours, rates and shares in % (their changes in
    percentage points); each change says whether it is better or worse. A metric got worse
    when it moved in its bad direction by more than 10% against last week or against the
    baseline (or rose from 0); lower is better except the orchestration share and checks
    verified at done. A week not over yet is marked partial; a future week is refused."""
    if again and not post:
        fail("--again only repeats a post: add --post (chatbot digest --team T --post --again).")
    if as_json:
        output = OutputFormat.JSON
    services = services_or_exit()
    now = services.clock.now()
    if post:
        from chatbot.digest.cli_post import post_command
        from chatbot.root import build_root

        post_command(build_root(services).digests, team, week, again)
        return
    from chatbot.metrics.engine import (
        FutureWeek,
        UnknownMetric,
        UnknownTeam,
        explain,
        weekly_digest_for,
    )
    from chatbot.metrics.week import WeekError

    try:
        if explain_metric is not None:
            items = [i.as_dict() for i in explain(services.db, team, week, explain_metric, now=now)]
            print_listing(explain_listing(explain_metric, items), output, console)
            return
        result = weekly_digest_for(services.db, team, week, now)
    except FutureWeek as exc:
        text = services.prompts.text(
            "digest.command.future_week_cli", week=exc.week, latest=exc.latest
        )
        err.print(Text(text, style="red"))
        raise typer.Exit(2) from None
    except (UnknownTeam, UnknownMetric, WeekError) as exc:
        fail(str(exc.args[0]))
    if output is OutputFormat.JSON:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    if output is OutputFormat.TABLE:
        _print_table(result, services.prompts)
        return
    print_listing(digest_listing(result, services.prompts), output, console)
    for warning in result["warnings"]:  # stdout stays one row per line
        err.print(Text("! ", style="yellow") + Text(warning), highlight=False, soft_wrap=True)


DIGEST_COLUMNS = ("metric", "this week", "last week", "change", "baseline", "vs baseline", "n")


def digest_listing(result: Mapping[str, Any], prompts: Prompts) -> Listing:
    """The digest's headline figures, one row per metric in the digest's order: values and
    changes in each metric's unit, each change with what it means (better or worse)."""
    from chatbot.metrics.engine import METRICS  # the engine is slow to import (lazy CLI)

    rows: list[tuple[str, ...]] = []
    records: list[dict[str, JsonValue]] = []
    for metric in METRICS:
        if metric.headline is None:  # AI vs other: a comparison, printed under the table
            continue
        fields = result["metrics"][metric.name]
        previous, baseline = (
            float(v) if isinstance(v, int | float) else None
            for v in (fields["previous"], fields["baseline"])
        )
        view = VIEWS[metric.name]
        current = view.value(fields)
        cells = (
            metric.name.replace("_", " "),
            fmt(current, view.unit, prompts),
            fmt(previous, view.unit, prompts),
            fmt_change(current, previous, view.unit, prompts, view.better_direction),
            fmt(baseline, view.unit, prompts),
            fmt_change(current, baseline, view.unit, prompts, view.better_direction),
            str(fields.get("n", "")),
        )
        rows.append(cells)
        records.append(dict(zip(DIGEST_COLUMNS, cells, strict=True)))
    title = (
        f"{result['team']} · {result['week']} ({result['time_zone']}: "
        f"{moment(result['start'])} → {moment(result['end'])})"
    )
    if result.get("partial"):
        title += " · " + prompts.text("digest.command.partial_cli")
    return Listing(
        DIGEST_COLUMNS, rows, records, title=title, right_aligned=frozenset(DIGEST_COLUMNS[1:])
    )


AI_SPLIT_COLUMNS = (
    "side",
    "review time",
    "review n",
    "rounds (mean)",
    "rounds n",
    "cycle time",
    "cycle n",
    "PR size (median lines)",
)


def ai_split_listing(split: Mapping[str, Any]) -> Listing:
    """AI-assisted PRs beside the others: each side's figures with its sample size."""
    rows: list[tuple[str, ...]] = []
    for side in ("ai", "other"):
        figures = split.get(side) or {}
        review = figures.get("review_time_median_hours")
        cycle = figures.get("cycle_time_median_hours")
        rounds = figures.get("review_rounds_mean")
        size = figures.get("pr_size_median_lines")
        rows.append(
            (
                "AI-assisted" if side == "ai" else "other",
                "—" if review is None else hours_as_hours(review),
                str(figures.get("review_n", 0)),
                "—" if rounds is None else f"{round(rounds, 2):g}",
                str(figures.get("rounds_n", 0)),
                "—" if cycle is None else hours_as_days(cycle),
                str(figures.get("cycle_n", 0)),
                "—" if size is None else f"{size:g}",
            )
        )
    records = [dict(zip(AI_SPLIT_COLUMNS, row, strict=True)) for row in rows]
    return Listing(
        AI_SPLIT_COLUMNS,
        rows,
        records,
        title="AI-assisted vs other PRs",
        right_aligned=frozenset(AI_SPLIT_COLUMNS[1:]),
    )


def _print_table(result: Mapping[str, Any], prompts: Prompts) -> None:
    """The digest as a table on the terminal (the demo prints it too), then the AI split,
    the goals and a speed-versus-quality warning when there is one."""
    paired = result.get("paired_signal")
    if paired:
        speed, quality = paired["speed"], paired["quality"]
        console.print(
            Text("! ", style="yellow")
            + Text(
                f"Speed at the cost of quality: cycle time {speed['now'] / 24:.1f} d "
                f"(baseline {speed['baseline'] / 24:.1f} d), "
                f"{quality['metric'].replace('_', ' ')} {quality['now'] * 100:.0f}% "
                f"(baseline {quality['baseline'] * 100:.0f}%)"
            ),
            highlight=False,
            soft_wrap=True,
        )
    print_listing(digest_listing(result, prompts), OutputFormat.TABLE, console)
    if result.get("partial"):
        console.print(Text(prompts.text("digest.digest.partial", week=result["week"])))
    split = result["metrics"].get("ai_vs_other") or {}
    if split:
        print_listing(ai_split_listing(split), OutputFormat.TABLE, console)
    for name, goal in (result.get("goals") or {}).items():
        view = VIEWS.get(name)

        def shown(value: Any, view: Any = view) -> str:
            if view is None:
                return "—" if value is None else f"{value:g}"
            return fmt(value, view.unit, prompts)

        share = "—" if goal["progress"] is None else f"{goal['progress'] * 100:.0f}%"
        console.print(
            f"goal {goal['target']}: baseline {shown(goal['baseline'])} → now "
            f"{shown(goal['now'])} → goal {shown(goal['goal'])} ({share} of the way)",
            highlight=False,
            soft_wrap=True,
        )
    for warning in result["warnings"]:
        console.print(Text("! ", style="yellow") + Text(warning), highlight=False, soft_wrap=True)


EXPLAIN_COLUMNS = ("item", "counted", "value", "reason", "times", "detail")


def _item_value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in _DURATION:
        return _DURATION[metric](value)
    if metric in _SHARES:
        return f"{value * 100:.0f}%"
    return f"{value:g}"


def _reason(item: Mapping[str, Any]) -> str:
    if item["reason"]:
        return str(item["reason"]).replace("_", " ")
    return "counted" if item["counted"] else "left out"


def explain_listing(metric: str, items: list[dict[str, Any]]) -> Listing:
    """`--explain METRIC`: every item counted or left out, with readable values and times."""
    rows: list[tuple[str, ...]] = []
    for item in items:
        times = "\n".join(
            f"{name.replace('_', ' ')}: {moment(when)}"
            for name, when in item["times"].items()
            if when
        )
        rows.append(
            (
                item["ref"],
                "yes" if item["counted"] else "no",
                _item_value(metric, item["value"]),
                _reason(item),
                times or "—",
                item["detail"] or "—",
            )
        )
    counted = sum(1 for item in items if item["counted"])
    noun = "item" if len(items) == 1 else "items"
    title = f"{metric}: {len(items)} {noun} ({counted} counted, {len(items) - counted} left out)"
    return Listing(EXPLAIN_COLUMNS, rows, items, title=title)
