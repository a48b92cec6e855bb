"""Counts, weight bytes and estimated latency per category of one model, from its summary record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mlinspect.analysis.categories import CATEGORIES
from mlinspect.humanize import human_bytes
from mlinspect.tui.widgets.bars import SIDE_STYLES, bar

BAR_WIDTH = 14


def summary_renderable(
    summary: dict[str, Any],
    category_ms: dict[str, float] | None = None,
    profile: dict[str, Any] | None = None,
) -> Group:
    """Return the model line and a table of ops and weight bytes per category, with bars.

    With `category_ms` (category to estimated ms) and `profile` (a profile
    header: host, compute_units, median_ms, coverage), the table gains an
    estimated latency column and the head names the profile.
    """
    model = summary["model"]
    weights = summary["weights"]
    head = Text(Path(model["path"]).name, style="bold")
    head.append(
        f"\n{model['type']}, spec {model['specification_version']} ({model['deployment_target']}),"
        f" {summary['ops']['total']} ops, weights {human_bytes(weights['total_bytes'])}"
    )
    if weights["declared_only"]:
        head.append(
            "\nweight sizes taken from declared types (weight file missing)", style="italic"
        )

    if profile is not None:
        head.append(
            f"\nprofile: {profile['host']}, median {profile['median_ms']:.3f} ms", style="italic"
        )
        if profile.get("coverage") is not None:
            head.append(f", {profile['coverage'] * 100:.0f} % of runtime ops have a cost")
        head.append("\nlatency estimated from the compute plan", style="italic")

    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("category")
    table.add_column("ops", justify="right")
    table.add_column("weight bytes")
    if category_ms is not None:
        table.add_column("est. ms")
    largest_ms = max(category_ms.values(), default=0.0) if category_ms else 0.0
    by_count = summary["ops"]["by_category"]
    by_bytes = weights["by_category"]
    largest = max(by_bytes.values(), default=0)
    for category in CATEGORIES:
        if category not in by_count and category not in by_bytes:
            continue
        nbytes = by_bytes.get(category, 0)
        cells = [
            category,
            str(by_count.get(category, 0)),
            bar(nbytes, largest, BAR_WIDTH, SIDE_STYLES["A"]) + Text(f" {human_bytes(nbytes)}"),
        ]
        if category_ms is not None:
            milliseconds = category_ms.get(category)
            cells.append(
                bar(milliseconds or 0.0, largest_ms, BAR_WIDTH, SIDE_STYLES["B"])
                + Text(" -" if milliseconds is None else f" {milliseconds:.3f}")
            )
        table.add_row(*cells)
    return Group(head, table)


class SummaryPanel(Static):
    """The summary of the browsed model."""

    def __init__(
        self,
        summary: dict[str, Any],
        category_ms: dict[str, float] | None = None,
        profile: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(summary_renderable(summary, category_ms, profile), **kwargs)
