"""Per-category comparison of A and B: weight bytes, static cost and estimated latency, with bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mlinspect.humanize import human_bytes, human_count
from mlinspect.tui.widgets.bars import SIDE_STYLES, bar

BAR_WIDTH = 8


def category_table(
    categories: Sequence[Mapping[str, Any]], latency: Mapping[str, Mapping[str, float]] | None
) -> Table:
    """Return a table with one A row and one B row per category. `latency` maps a category to {"a": ms, "b": ms}."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("category", no_wrap=True, max_width=15, overflow="ellipsis")
    table.add_column("", no_wrap=True, min_width=3)
    table.add_column("weight bytes", no_wrap=True)
    table.add_column("static FLOP", no_wrap=True)
    if latency:
        table.add_column("latency (estimate)", no_wrap=True)

    max_bytes = max((row[side]["weight_bytes"] for row in categories for side in "ab"), default=0)
    max_flops = max((row[side]["flops"] for row in categories for side in "ab"), default=0)
    max_ms = max((value for row in (latency or {}).values() for value in row.values()), default=0.0)
    for row in categories:
        for side in "ab":
            label = side.upper()
            style = SIDE_STYLES[label]
            weight = row[side]["weight_bytes"]
            flops = row[side]["flops"]
            cells = [
                Text(row["category"] if side == "a" else ""),
                Text(f" {label} ", style=f"bold #ffffff on {style}"),
                bar(weight, max_bytes, BAR_WIDTH, style) + Text(f" {human_bytes(weight)}"),
                bar(flops, max_flops, BAR_WIDTH, style) + Text(f" {human_count(flops)}"),
            ]
            if latency:
                ms = (latency.get(row["category"]) or {}).get(side)
                cells.append(
                    bar(ms or 0.0, max_ms, BAR_WIDTH, style)
                    + Text(" -" if ms is None else f" {ms:.3f} ms")
                )
            table.add_row(*cells)
    return table


class CategoryPanel(Static):
    """The category comparison of a diff, rendered once from the document's `categories` rows."""

    def __init__(
        self, categories: Sequence[Mapping[str, Any]], latency=None, **kwargs: Any
    ) -> None:
        super().__init__(category_table(categories, latency), **kwargs)
