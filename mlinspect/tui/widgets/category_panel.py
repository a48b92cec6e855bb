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
# With the latency column the panel has three bars per row, so each gets fewer cells.
PROFILED_BAR_WIDTH = 4


def category_table(categories: Sequence[Mapping[str, Any]]) -> Table:
    """Return a table with one A row and one B row per category, from the `diff --json` category rows.

    The latency column appears when either side has a profile, and takes its
    values from each row's `estimated_ms` {"a": ms, "b": ms, "delta": ms}.
    """
    latency = {
        row["category"]: row["estimated_ms"]
        for row in categories
        if any((row.get("estimated_ms") or {}).get(side) is not None for side in "ab")
    }
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("category", no_wrap=True, max_width=15, overflow="ellipsis")
    table.add_column("", no_wrap=True, min_width=3)
    table.add_column("weight bytes", no_wrap=True)
    table.add_column("static FLOP", no_wrap=True)
    if latency:
        table.add_column("est. ms", no_wrap=True)

    width = PROFILED_BAR_WIDTH if latency else BAR_WIDTH
    max_bytes = max((row[side]["weight_bytes"] for row in categories for side in "ab"), default=0)
    max_flops = max((row[side]["flops"] for row in categories for side in "ab"), default=0)
    max_ms = max(
        (row[side] or 0.0 for row in latency.values() for side in "ab"),
        default=0.0,
    )
    for row in categories:
        for side in "ab":
            label = side.upper()
            style = SIDE_STYLES[label]
            weight = row[side]["weight_bytes"]
            flops = row[side]["flops"]
            cells = [
                Text(row["category"] if side == "a" else ""),
                Text(f" {label} ", style=f"bold #ffffff on {style}"),
                bar(weight, max_bytes, width, style) + Text(f" {human_bytes(weight)}"),
                bar(flops, max_flops, width, style) + Text(f" {human_count(flops)}"),
            ]
            if latency:
                ms = (latency.get(row["category"]) or {}).get(side)
                cells.append(
                    bar(ms or 0.0, max_ms, width, style)
                    + Text(" -" if ms is None else f" {ms:.3f}")
                )
            table.add_row(*cells)
    return table


class CategoryPanel(Static):
    """The category comparison of a diff, rendered once from the document's `categories` rows."""

    def __init__(self, categories: Sequence[Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(category_table(categories), **kwargs)
