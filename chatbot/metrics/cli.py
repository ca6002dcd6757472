"""`chatbot digest`: the weekly digest in the terminal, as JSON, or the work behind a figure."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from chatbot.cli_support import console, err, services_or_exit
from chatbot.metrics.engine import (
    BY_NAME,
    METRICS,
    UnknownMetric,
    UnknownTeam,
    explain,
    weekly_digest_for,
)
from chatbot.metrics.goals import headline_value
from chatbot.metrics.week import WeekError


def digest(
    team: Annotated[str, typer.Option("--team", help="The team's name (chatbot team list).")],
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week like 2026-W47; default: the last complete one."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the digest's JSON.")] = False,
    explain_metric: Annotated[
        str | None,
        typer.Option("--explain", help=f"List every item behind one metric: {', '.join(BY_NAME)}."),
    ] = None,
    post: Annotated[
        bool, typer.Option("--post", help="Post it to the team's channel now (takes the slot).")
    ] = False,
    again: Annotated[
        bool, typer.Option("--again", help="With --post: post once more, on purpose.")
    ] = False,
) -> None:
    """The weekly digest of a team: headline figures, change against last week and baseline."""
    services = services_or_exit()
    now = services.clock.now()
    if post:
        from chatbot.digest.cli_post import post_command

        post_command(services, team, week, again)
        return
    try:
        if explain_metric is not None:
            items = explain(services.db, team, week, explain_metric, now=now)
            _print_explain(explain_metric, [i.as_dict() for i in items], as_json)
            return
        result = weekly_digest_for(services.db, team, week, now)
    except (UnknownTeam, UnknownMetric, WeekError) as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    _print_table(result)


def _number(value: Any, headline: str) -> str:
    if value is None:
        return "—"
    if headline.endswith("value") or headline.endswith("_share"):
        return f"{value * 100:.1f}%"
    if headline.endswith("hours"):
        return f"{value:.1f} h"
    return f"{round(value, 2):g}"


def _change(current: Any, other: Any) -> str:
    if current is None or other is None:
        return "—"
    if other == 0:
        return "±0" if current == 0 else "from 0"
    percent = round((current - other) / abs(other) * 100)
    return "±0%" if percent == 0 else f"{percent:+d}%"


def _print_table(result: dict[str, Any]) -> None:
    table = Table(
        title=f"{result['team']} · {result['week']} ({result['time_zone']}: "
        f"{result['start']} → {result['end']})"
    )
    for column in ("metric", "this week", "last week", "change", "baseline", "vs baseline", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric in METRICS:
        if metric.headline is None:  # AI vs other: a comparison, printed below
            continue
        fields = result["metrics"][metric.name]
        current = headline_value(fields, metric.headline)
        table.add_row(
            metric.name.replace("_", " "),
            _number(current, metric.headline),
            _number(fields["previous"], metric.headline),
            _change(current, fields["previous"]),
            _number(fields["baseline"], metric.headline),
            _change(current, fields["baseline"]),
            str(fields.get("n", "")),
        )
    console.print(table)
    _print_ai_split(result["metrics"].get("ai_vs_other") or {})
    for goal in (result.get("goals") or {}).values():
        share = "—" if goal["progress"] is None else f"{goal['progress'] * 100:.0f}%"
        console.print(
            f"goal {goal['target']}: baseline {goal['baseline']} → now {goal['now']} → "
            f"goal {goal['goal']} ({share} of the way)",
            highlight=False,
        )
    paired = result.get("paired_signal")
    if paired:
        speed, quality = paired["speed"], paired["quality"]
        console.print(
            Text("! ", style="yellow")
            + Text(
                f"speed at the cost of quality: cycle time {speed['now']:.1f} h "
                f"(baseline {speed['baseline']:.1f} h), {quality['metric'].replace('_', ' ')} "
                f"{quality['now'] * 100:.0f}% (baseline {quality['baseline'] * 100:.0f}%)"
            ),
            highlight=False,
        )
    for warning in result["warnings"]:
        console.print(Text("! ", style="yellow") + Text(warning), highlight=False)


def _print_ai_split(split: dict[str, Any]) -> None:
    if not split:
        return
    table = Table(title="AI-assisted vs other PRs")
    for column in ("side", "review time", "n", "rounds (mean)", "n", "cycle time", "n", "size"):
        table.add_column(column, justify="left" if column == "side" else "right")
    for side in ("ai", "other"):
        figures = split.get(side) or {}
        table.add_row(
            "AI-assisted" if side == "ai" else "other",
            _number(figures.get("review_time_median_hours"), "median_hours"),
            str(figures.get("review_n", 0)),
            _number(figures.get("review_rounds_mean"), "mean"),
            str(figures.get("rounds_n", 0)),
            _number(figures.get("cycle_time_median_hours"), "median_hours"),
            str(figures.get("cycle_n", 0)),
            _number(figures.get("pr_size_median_lines"), "lines"),
        )
    console.print(table)


def _print_explain(metric: str, items: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{metric}: {len(items)} items")
    # The item's reference is what a reader looks up elsewhere: never cut it.
    table.add_column("item", no_wrap=True)
    for column in ("counted", "value", "reason", "times", "detail"):
        table.add_column(column)
    for item in items:
        times = "\n".join(f"{k} {v}" for k, v in item["times"].items() if v)
        table.add_row(
            Text(item["ref"]),
            "yes" if item["counted"] else "no",
            "" if item["value"] is None else f"{item['value']:g}",
            Text(item["reason"] or ""),
            Text(times),
            Text(item["detail"]),
        )
    console.print(table)
