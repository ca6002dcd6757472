"""GitHub's published GraphQL schema (`schemas/github_schema.graphql`, see `schemas/README.md`)
and what the fake GitHub does with it: every query is parsed and validated against the schema,
then executed by graphql-core, with the fake's own resolvers for the fields that take arguments
(`repository`, `pullRequests`, `commits`, ...); every other field is read from the dictionaries
the fake renders. A query GitHub would refuse is refused here too, so a wrong field, argument or
variable in the bot fails its test. This module reads only the published schema, never the
bot's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSyntaxError,
    build_schema,
    default_field_resolver,
    execute,
    parse,
    validate,
)

SCHEMA_FILE = Path(__file__).parent / "schemas" / "github_schema.graphql"

# (parent type, field) -> resolver(source, **arguments), for the fields the fake computes.
Resolver = Callable[..., Any]
Resolvers = Mapping[tuple[str, str], Resolver]


class GitHubError(GraphQLError):
    """An error GitHub reports for a valid query (`NOT_FOUND`, `EXCESSIVE_PAGINATION`, ...):
    an answer, not a mistake of the caller's query."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Outcome:
    """The JSON GitHub answers with, and the errors that mean the query itself was wrong."""

    body: dict[str, Any]
    invalid: tuple[str, ...]


@cache
def schema() -> GraphQLSchema:
    """The published schema, built once per process (about two seconds).

    GitHub's SDL breaks two rules graphql-core checks on a schema (fields defined twice in
    `EnterpriseOwnerInfo`; deprecated fields implementing interface fields that are not), and
    GitHub serves it as it is, so it is taken as valid rather than refused."""
    return build_schema(
        SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True, assume_valid=True
    )


def run(
    query: str,
    variables: dict[str, Any],
    resolvers: Resolvers,
    operation_name: str | None = None,
) -> Outcome:
    """Parse, validate and execute `query` as GitHub would."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return _refused([exc])
    problems = validate(schema(), document)
    if problems:
        return _refused(problems)
    return _execute(document, variables, resolvers, operation_name)


def _execute(
    document: DocumentNode,
    variables: dict[str, Any],
    resolvers: Resolvers,
    operation_name: str | None,
) -> Outcome:
    def resolve(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        own = resolvers.get((info.parent_type.name, info.field_name))
        if own is not None:
            return own(source, **arguments)
        return default_field_resolver(source, info, **arguments)

    result = execute(
        schema(),
        document,
        root_value={},
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=resolve,
    )
    if not isinstance(result.errors, list) or not result.errors:
        return Outcome({"data": result.data}, ())
    errors = [_as_github(error) for error in result.errors]
    # Anything but GitHub's own answers (a variable of the wrong type, a null where the schema
    # promises a value) means the query, or the fake's data, does not fit the schema.
    invalid = tuple(
        error.message
        for error in result.errors
        if not isinstance(error.original_error or error, GitHubError)
    )
    body: dict[str, Any] = {"errors": errors}
    if result.data is not None:
        body["data"] = result.data
    return Outcome(body, invalid)


def _refused(errors: list[GraphQLError]) -> Outcome:
    """GitHub answers a query that does not parse or validate with errors and no data."""
    return Outcome({"errors": [_as_github(e) for e in errors]}, tuple(e.message for e in errors))


def _as_github(error: GraphQLError) -> dict[str, Any]:
    shaped: dict[str, Any] = {"message": error.message}
    original = error.original_error
    if isinstance(original, GitHubError):
        shaped["type"] = original.kind
    elif isinstance(error, GitHubError):
        shaped["type"] = error.kind
    if error.path:
        shaped["path"] = list(error.path)
    if error.locations:
        shaped["locations"] = [{"line": x.line, "column": x.column} for x in error.locations]
    return shaped
