"""Counts and weight bytes per category of one model, from its summary record."""

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


def summary_renderable(summary: dict[str, Any]) -> Group:
    """Return the model line and a table of ops and weight bytes per category, with weight bars."""
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

    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("category")
    table.add_column("ops", justify="right")
    table.add_column("weight bytes")
    by_count = summary["ops"]["by_category"]
    by_bytes = weights["by_category"]
    largest = max(by_bytes.values(), default=0)
    for category in CATEGORIES:
        if category not in by_count and category not in by_bytes:
            continue
        nbytes = by_bytes.get(category, 0)
        table.add_row(
            category,
            str(by_count.get(category, 0)),
            bar(nbytes, largest, BAR_WIDTH, SIDE_STYLES["A"]) + Text(f" {human_bytes(nbytes)}"),
        )
    return Group(head, table)


class SummaryPanel(Static):
    """The summary of the browsed model."""

    def __init__(self, summary: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(summary_renderable(summary), **kwargs)
