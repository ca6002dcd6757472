"""Listings of the command line (`team list`, `digest`, `digest --explain`): one shape, three
formats, and tables that never cut a value.

A table fits when every column can hold its longest word; then cells wrap between words.
When even that is wider than the output (many columns at 80), each row is printed as a
stack of `column  value` lines instead. Either way every value is printed whole: rich's
default "…" cut is never used, so a piped or redirected listing keeps what a reader looks up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class OutputFormat(StrEnum):
    TABLE = "table"
    TSV = "tsv"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (wraps, never cuts), tsv (one row per line) or json.",
    ),
]

# The space a bordered rich table spends around each column (padding) and between them.
_CELL_PADDING = 2
_BORDER = 1


@dataclass(frozen=True)
class Listing:
    """What a listing command shows: the column names, each row's cells as display text
    (a cell may hold several lines), and the records `--format json` prints."""

    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    records: Sequence[Mapping[str, JsonValue]]
    title: str = ""
    right_aligned: frozenset[str] = field(default_factory=frozenset)
    # Printed instead of an empty table, saying what to do next.
    when_empty: str = ""


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _column_cells(listing: Listing, index: int) -> list[str]:
    return [listing.columns[index], *(row[index] for row in listing.rows)]


def _frame(listing: Listing) -> int:
    """The characters a bordered table spends outside its cells' text."""
    return _BORDER + len(listing.columns) * (_CELL_PADDING + _BORDER)


def fits_as_table(listing: Listing, width: int) -> bool:
    """True when every column can be as wide as its longest word within `width`."""
    needed = sum(
        max(map(_longest_word, _column_cells(listing, i))) for i in range(len(listing.columns))
    )
    return needed + _frame(listing) <= width


def column_widths(listing: Listing, width: int) -> list[int]:
    """Each column's text width: at least its longest word, and the space left over shared
    out evenly, a character at a time, among the columns whose lines still wrap. rich's own
    shrinking would cut a reference in two when the table is too wide."""
    cells = [_column_cells(listing, i) for i in range(len(listing.columns))]
    widths = [max(map(_longest_word, column)) for column in cells]
    wanted = [max(map(_longest_line, column)) for column in cells]
    spare = width - _frame(listing) - sum(widths)
    growing = [i for i, w in enumerate(widths) if w < wanted[i]]
    while spare > 0 and growing:
        for i in growing[:spare]:
            widths[i] += 1
        spare -= len(growing[:spare])
        growing = [i for i in growing if widths[i] < wanted[i]]
    return widths


def _table(listing: Listing, width: int) -> Table:
    table = Table()
    for name, column_width in zip(listing.columns, column_widths(listing, width), strict=True):
        table.add_column(
            name,
            justify="right" if name in listing.right_aligned else "left",
            width=column_width,
            overflow="fold",
        )
    for row in listing.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _stacked(listing: Listing) -> Group:
    """One block per row: its first cell as a heading, then `column  value` lines."""
    label_width = max(len(name) for name in listing.columns[1:]) if len(listing.columns) > 1 else 0
    parts: list[RenderableType] = []
    for row in listing.rows:
        block = Text(row[0], style="bold")
        for name, cell in zip(listing.columns[1:], row[1:], strict=True):
            lines = cell.splitlines() or [""]
            block.append(f"\n  {name.ljust(label_width)}  {lines[0]}")
            for more in lines[1:]:
                block.append(f"\n  {'':{label_width}}  {more}")
        parts.append(block)
    return Group(*parts)


def renderable(listing: Listing, width: int) -> RenderableType:
    """The table when it fits `width` without breaking a word, else the stacked rows; the
    title above either, as plain text (a table's own title is padded to its width)."""
    body = _table(listing, width) if fits_as_table(listing, width) else _stacked(listing)
    return Group(Text(listing.title), body) if listing.title else body


def _tsv_cell(cell: str) -> str:
    return re.sub(r"\s*\n\s*", "; ", cell).replace("\t", " ")


def print_listing(listing: Listing, output: OutputFormat, console: Console) -> None:
    """Print `listing` as a table, tab-separated values or JSON on `console`."""
    if output is OutputFormat.JSON:
        console.file.write(json.dumps(list(listing.records), indent=2, ensure_ascii=False) + "\n")
        return
    if output is OutputFormat.TSV:
        lines = ["\t".join(listing.columns)]
        lines += ["\t".join(_tsv_cell(cell) for cell in row) for row in listing.rows]
        console.file.write("\n".join(lines) + "\n")
        return
    if not listing.rows and listing.when_empty:
        console.print(Text(listing.when_empty), soft_wrap=True)
        return
    width = _width_now(console)
    console.width = width  # print() never renders wider than the console's own width
    console.print(renderable(listing, width))


def _width_now(console: Console) -> int:
    """The width to lay out for: COLUMNS as it is now (rich reads it once, when the console is
    made, which is at import for the CLI's shared console), else the console's own."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else console.width


def hours_as_days(hours: float) -> str:
    return f"{hours / 24:.1f} d"


def hours_as_hours(hours: float) -> str:
    return f"{hours:.1f} h"


def moment(iso: str) -> str:
    """`2026-11-09T14:00:00Z` as `Mon 2026-11-09 14:00 UTC`; text that is no time, unchanged."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is None:
        return iso
    return when.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")
