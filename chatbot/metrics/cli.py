"""`chatbot digest`: the weekly digest in the terminal, as JSON, or the work behind a figure."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from chatbot.cli_support import console, err, services_or_exit
from chatbot.digest.catalogue import BY_NAME as VIEWS
from chatbot.digest.catalogue import fmt, fmt_change
from chatbot.metrics.engine import (
    BY_NAME,
    METRICS,
    FutureWeek,
    UnknownMetric,
    UnknownTeam,
    explain,
    weekly_digest_for,
)
from chatbot.metrics.week import WeekError
from chatbot.prompts import Prompts


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
    """The weekly digest of a team: headline figures, change against last week and baseline.

    Cycle time is in days, review time in hours, rates and shares in % (their changes in
    percentage points); each change says whether it is better or worse. A metric got worse
    when it moved in its bad direction by more than 10% against last week or against the
    baseline (or rose from 0); lower is better except the orchestration share and checks
    verified at done. A week not over yet is marked partial; a future week is refused."""
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
    except FutureWeek as exc:
        text = services.prompts.text(
            "digest.command.future_week_cli", week=exc.week, latest=exc.latest
        )
        err.print(Text(text, style="red"))
        raise typer.Exit(2) from None
    except (UnknownTeam, UnknownMetric, WeekError) as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    _print_table(result, services.prompts)


def _print_table(result: dict[str, Any], prompts: Prompts) -> None:
    """Values and changes in each metric's unit (spec 6.2), each change with what it means
    (better or worse), and a partial week said as such."""
    title = f"{result['team']} · {result['week']} ({result['time_zone']}: "
    title += f"{result['start']} → {result['end']})"
    if result.get("partial"):
        title += " · " + prompts.text("digest.command.partial_cli")
    table = Table(title=title)
    for column in ("metric", "this week", "last week", "change", "baseline", "vs baseline", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric in METRICS:
        view = VIEWS[metric.name]
        fields = result["metrics"][metric.name]
        current = view.value(fields)
        previous, baseline = (
            float(v) if isinstance(v, int | float) else None
            for v in (fields["previous"], fields["baseline"])
        )
        table.add_row(
            metric.name.replace("_", " "),
            fmt(current, view.unit, prompts),
            fmt(previous, view.unit, prompts),
            fmt_change(current, previous, view.unit, prompts, view.lower_is_better),
            fmt(baseline, view.unit, prompts),
            fmt_change(current, baseline, view.unit, prompts, view.lower_is_better),
            str(fields.get("n", "")),
        )
    console.print(table)
    if result.get("partial"):
        console.print(Text(prompts.text("digest.digest.partial", week=result["week"])))
    for warning in result["warnings"]:
        console.print(Text("! ", style="yellow") + Text(warning), highlight=False)


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
