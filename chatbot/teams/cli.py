"""`chatbot team add / list / set / doctor`: team settings as code (the same settings, and
the same checks, as `/digest setup`). Every refusal is one line and exit code 2."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from chatbot.cli_support import console, err, services_or_exit
from chatbot.cli_tables import FormatOption, JsonValue, Listing, OutputFormat, print_listing
from chatbot.teams.escape import describe_escape_rule
from chatbot.teams.settings import (
    SETTINGS,
    WEEKDAYS,
    TeamError,
    check,
    setting_for,
    valid_keys,
)

if TYPE_CHECKING:
    from chatbot.prompts import Prompts
    from chatbot.teams.models import Team

team_app = typer.Typer(no_args_is_help=True, help="Team settings as code.")


def _refuse(message: str) -> typer.Exit:
    err.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(2)


# The plural spellings of the list flags, documented before flags became singular and
# repeatable; still accepted, no longer shown in help.
def _hidden(*names: str) -> Any:
    return typer.Option(*names, hidden=True)


@team_app.command("add")
def team_add(
    name: str,
    channel: Annotated[str, typer.Option("--channel", help="Slack channel id, e.g. C0123ABCD")],
    jira_project: Annotated[str | None, typer.Option("--jira-project", help="PAY")] = None,
    jira_jql: Annotated[str | None, typer.Option("--jira-jql")] = None,
    jira_issue_type: Annotated[str | None, typer.Option("--jira-issue-type")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Default: TZ_DEFAULT")] = None,
    repo: Annotated[list[str] | None, typer.Option("--repo", help="owner/name (repeat)")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="(repeat)")] = None,
    prod_env: Annotated[
        list[str] | None, typer.Option("--prod-env", help="Default: production, prod (repeat)")
    ] = None,
    member: Annotated[list[str] | None, typer.Option("--member", help="Jira name (repeat)")] = None,
    bot: Annotated[list[str] | None, typer.Option("--bot", help="GitHub login (repeat)")] = None,
    orchestrator: Annotated[
        list[str] | None, typer.Option("--orchestrator", help="Slack user id (repeat)")
    ] = None,
    senior: Annotated[
        list[str] | None, typer.Option("--senior", help="Slack user id (repeat)")
    ] = None,
    leader: Annotated[
        list[str] | None, typer.Option("--leader", help="Slack user id (repeat)")
    ] = None,
    admin: Annotated[
        list[str] | None, typer.Option("--admin", help="Slack user id (repeat)")
    ] = None,
    digest_day: Annotated[str | None, typer.Option("--digest-day", help="Default: monday")] = None,
    digest_time: Annotated[str | None, typer.Option("--digest-time", help="Default: 09:00")] = None,
    checkin_day: Annotated[
        str | None, typer.Option("--checkin-day", help="Default: friday")
    ] = None,
    checkin_time: Annotated[
        str | None, typer.Option("--checkin-time", help="Default: 15:00")
    ] = None,
    wip_limit: Annotated[str | None, typer.Option("--wip-limit", help="Default: 2")] = None,
    escape_rule: Annotated[
        str | None,
        typer.Option(
            "--escape-rule", help="label:NAME, field:ID=VALUE or jql:QUERY (default label:escaped)"
        ),
    ] = None,
    status_category: Annotated[
        list[str] | None,
        typer.Option("--status-category", help='"In Review=indeterminate" (repeat)'),
    ] = None,
    baseline_week: Annotated[str | None, typer.Option("--baseline-week", help="2026-W40")] = None,
    decision_reaction: Annotated[
        str | None, typer.Option("--decision-reaction", help="Default: memo")
    ] = None,
    repos: Annotated[list[str] | None, _hidden("--repos")] = None,
    services_: Annotated[list[str] | None, _hidden("--services")] = None,
    prod_envs: Annotated[
        list[str] | None, _hidden("--prod-envs", "--production-env", "--production-envs")
    ] = None,
    members: Annotated[list[str] | None, _hidden("--members")] = None,
    bots: Annotated[list[str] | None, _hidden("--bots")] = None,
    orchestrators: Annotated[list[str] | None, _hidden("--orchestrators")] = None,
    seniors: Annotated[list[str] | None, _hidden("--seniors", "--senior-engineers")] = None,
    leaders: Annotated[list[str] | None, _hidden("--leaders")] = None,
    admins: Annotated[list[str] | None, _hidden("--admins")] = None,
    status_categories: Annotated[list[str] | None, _hidden("--status-categories")] = None,
) -> None:
    """Add a team (the same settings /digest setup edits)."""
    from chatbot.teams.service import TeamService

    services = services_or_exit()
    settings: dict[str, Any] = {
        "jira-project": jira_project,
        "jira-jql": jira_jql,
        "jira-issue-type": jira_issue_type,
        "tz": tz if tz is not None else services.settings.tz_default,
        "repo": _both(repo, repos),
        "service": _both(service, services_),
        "prod-env": _both(prod_env, prod_envs),
        "member": _both(member, members),
        "bot": _both(bot, bots),
        "orchestrator": _both(orchestrator, orchestrators),
        "senior": _both(senior, seniors),
        "leader": _both(leader, leaders),
        "admin": _both(admin, admins),
        "digest-day": digest_day,
        "digest-time": digest_time,
        "checkin-day": checkin_day,
        "checkin-time": checkin_time,
        "wip-limit": wip_limit,
        "escape-rule": escape_rule,
        "status-category": _both(status_category, status_categories),
        "baseline-week": baseline_week,
        "decision-reaction": decision_reaction,
    }
    try:
        for key, value in settings.items():
            if value == "":
                check(key, value)  # typed empty: refused when the setting needs a value
        team = TeamService(services.db, services.clock).add(name, channel, **settings)
    except TeamError as exc:
        raise _refuse(exc.text(services.prompts)) from None
    console.print(
        services.prompts.text(
            "teams.cli.added",
            team=escape(team.name),
            channel=escape(team.channel_id),
            tz=escape(team.tz),
        ),
        highlight=False,
    )


def _both(singular: list[str] | None, plural: list[str] | None) -> list[str] | None:
    """The values of a list flag given under either spelling, in the order typed per flag."""
    if singular is None and plural is None:
        return None
    return [*(singular or []), *(plural or [])]


def _day_and_time(weekday: int, time: str) -> str:
    return f"{WEEKDAYS[weekday][:3]} {time}"


TEAM_COLUMNS = (
    "name",
    "channel",
    "tz",
    "jira",
    "wip limit",
    "digest",
    "check-in",
    "repos",
    "services",
    "production",
    "escape rule",
    "reaction",
)


def team_listing(teams: list[Team], prompts: Prompts) -> Listing:
    """`team list` as a listing: one row per team, lists joined with commas."""
    rows: list[tuple[str, ...]] = []
    records: list[dict[str, JsonValue]] = []
    for team in teams:
        escape_rule = describe_escape_rule(team.escape_rule)
        rows.append(
            (
                team.name,
                team.channel_id,
                team.tz,
                team.jira_project or team.jira_jql or "—",
                str(team.wip_limit),
                _day_and_time(team.digest_weekday, team.digest_time),
                _day_and_time(team.checkin_weekday, team.checkin_time),
                ", ".join(team.repos) or "—",
                ", ".join(team.services) or "—",
                ", ".join(team.production_envs),
                escape_rule,
                team.decision_reaction,
            )
        )
        records.append(
            {
                "name": team.name,
                "channel": team.channel_id,
                "tz": team.tz,
                "jira_project": team.jira_project,
                "jira_jql": team.jira_jql,
                "wip_limit": team.wip_limit,
                "digest_day": WEEKDAYS[team.digest_weekday],
                "digest_time": team.digest_time,
                "checkin_day": WEEKDAYS[team.checkin_weekday],
                "checkin_time": team.checkin_time,
                "repos": list(team.repos),
                "services": list(team.services),
                "production_envs": list(team.production_envs),
                "escape_rule": escape_rule,
                "decision_reaction": team.decision_reaction,
            }
        )
    return Listing(
        TEAM_COLUMNS,
        rows,
        records,
        right_aligned=frozenset({"wip limit"}),
        when_empty=prompts.text("teams.cli.none_yet"),
    )


@team_app.command("list")
def team_list(output: FormatOption = OutputFormat.TABLE) -> None:
    """List teams and their main settings."""
    from chatbot.teams.service import TeamService

    services = services_or_exit()
    teams = TeamService(services.db, services.clock).all()
    print_listing(team_listing(teams, services.prompts), output, console)


def _set_help() -> str:
    lines = "\n".join(f"  --{s.key}: {s.help}" for s in SETTINGS)
    return (
        "Change team settings, e.g. `chatbot team set payments --wip-limit 3 --tz "
        "Europe/Berlin`.\n\nList settings take the flag once per value (--repo acme/a --repo "
        "acme/b) or commas, and replace the list; an empty value clears an optional setting; "
        "--status-category adds one override at a time.\n\nValid settings:\n\n"
        + lines.replace("\n", "\n\n")
    )


def _pairs(pairs: list[str]) -> dict[str, Any]:
    """`--key value` / `--key=value` pairs; a repeated list key gathers its values."""
    changes: dict[str, Any] = {}
    items = iter(pairs)
    for token in items:
        if not token.startswith("--") or token == "--":
            raise TeamError("teams.errors.expected_pair", token=token, valid=valid_keys())
        key, eq, value = token[2:].partition("=")
        if not eq:
            following = next(items, None)
            if following is None:
                raise TeamError("teams.errors.needs_value", setting=key)
            value = following
        setting = setting_for(key)
        many = setting.field in {
            "repos",
            "services",
            "production_envs",
            "members",
            "bots",
            "orchestrators",
            "senior_engineers",
            "leaders",
            "admins",
            "status_overrides",
            "ai_agents",
            "ai_markers",
            "ai_labels",
            "goals",
        }
        if setting.key in changes and not many:
            raise TeamError("teams.errors.given_twice", setting=setting.key)
        if many:
            changes.setdefault(setting.key, []).append(value)
        else:
            changes[setting.key] = value
    if not changes:
        raise TeamError("teams.errors.nothing_to_change", valid=valid_keys())
    return changes


@team_app.command(
    "set",
    help=_set_help(),
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def team_set(
    name: str,
    pairs: Annotated[list[str] | None, typer.Argument(help="--key value pairs")] = None,
) -> None:
    from chatbot.teams.service import TeamService

    try:
        changes = _pairs(pairs or [])
    except TeamError as exc:
        # Read before the settings are loaded, so a typo is named even without a .env:
        # the default prompts word it.
        raise _refuse(str(exc)) from None
    services = services_or_exit()
    try:
        team = TeamService(services.db, services.clock).update(name, **changes)
    except TeamError as exc:
        raise _refuse(exc.text(services.prompts)) from None
    console.print(
        services.prompts.text(
            "teams.cli.updated",
            team=escape(team.name),
            settings=", ".join(f"--{key}" for key in changes),
        ),
        highlight=False,
    )


@team_app.command("doctor")
def team_doctor(name: str) -> None:
    """What data the team's digest lacks, and how to fix each gap."""
    from chatbot.metrics.data_health import catch_up_line, data_health
    from chatbot.teams.service import TeamService

    services = services_or_exit()
    team = TeamService(services.db, services.clock).get(name)
    if team is None:
        raise _refuse(services.prompts.text("teams.errors.no_team", name=name))
    now = services.clock.now()
    warnings = data_health(services.db, team, now, services.prompts)
    if not warnings:
        console.print(
            services.prompts.text("doctor.cli.healthy", team=escape(team.name)), highlight=False
        )
    else:
        lacks = "doctor.cli.lacks"
        count = "one" if len(warnings) == 1 else "other"
        console.print(
            services.prompts.text(f"{lacks}.{count}", team=escape(team.name), count=len(warnings)),
            highlight=False,
        )
        for warning in warnings:
            console.print(f"- {escape(warning)}", highlight=False, soft_wrap=True)
    token = services.settings.github_token
    enabled = token is not None and bool(token.get_secret_value())
    line = catch_up_line(services.db, now, enabled, services.prompts)
    console.print(escape(line), highlight=False, soft_wrap=True)
