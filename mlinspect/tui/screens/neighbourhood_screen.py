"""Producers and consumers of the selected op a few hops out, in both models side by side."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mlinspect.mil.records import Model
from mlinspect.tui.records import neighbourhood
from mlinspect.tui.widgets.bars import SIDE_STYLES

MAX_HOPS = 6


def neighbourhood_table(
    label: str, op_id: str | None, rings: dict[str, list[list[dict[str, str]]]]
) -> Table:
    """Return the op's producers (farthest first), the op itself, then its consumers, with their hop distance."""
    table = Table(
        box=None,
        padding=(0, 1),
        title=Text(f" {label} ", style=f"bold #ffffff on {SIDE_STYLES[label]}"),
    )
    table.add_column("hop", justify="right")
    table.add_column("op")
    table.add_column("type")
    if op_id is None:
        table.add_row("", Text("no op on this side", style="italic"), "")
        return table
    for distance, ring in reversed(list(enumerate(rings["producers"], start=1))):
        for node in ring:
            table.add_row(f"-{distance}", node["id"], node["type"])
    table.add_row("0", Text(op_id, style="bold reverse"), "")
    for distance, ring in enumerate(rings["consumers"], start=1):
        for node in ring:
            table.add_row(f"+{distance}", node["id"], node["type"])
    return table


class NeighbourhoodScreen(ModalScreen[None]):
    """The graph around one pair: negative hops are producers, positive hops consumers."""

    CSS_PATH = "neighbourhood_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", key_display="esc"),
        Binding("plus,equals_sign", "hops(1)", "More hops", key_display="+"),
        Binding("minus", "hops(-1)", "Fewer hops", key_display="-"),
        Binding("k", "toggle_constants", "Constants"),
    ]

    def __init__(
        self,
        model_a: Model,
        model_b: Model,
        side_a: dict[str, Any] | None,
        side_b: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        self.models = {"A": model_a, "B": model_b}
        self.op_ids = {"A": side_a["id"] if side_a else None, "B": side_b["id"] if side_b else None}
        self.hops = 2
        self.include_constants = False

    def compose(self) -> ComposeResult:
        yield Static(id="neighbourhood-title")
        with Horizontal(id="neighbourhood-body"):
            with VerticalScroll():
                yield Static(id="neighbourhood-a")
            with VerticalScroll():
                yield Static(id="neighbourhood-b")
        yield Footer()

    def on_mount(self) -> None:
        self._render_rings()

    def rings(self) -> dict[str, dict[str, list[list[dict[str, str]]]]]:
        result = {}
        for label, op_id in self.op_ids.items():
            result[label] = (
                {"producers": [], "consumers": []}
                if op_id is None
                else neighbourhood(self.models[label], op_id, self.hops, self.include_constants)
            )
        return result

    def _render_rings(self) -> None:
        rings = self.rings()
        self.query_one("#neighbourhood-title", Static).update(
            f"Neighbourhood, {self.hops} hops (negative: producers, positive: consumers);"
            f" const ops {'shown' if self.include_constants else 'hidden'}"
        )
        self.query_one("#neighbourhood-a", Static).update(
            neighbourhood_table("A", self.op_ids["A"], rings["A"])
        )
        self.query_one("#neighbourhood-b", Static).update(
            neighbourhood_table("B", self.op_ids["B"], rings["B"])
        )

    def action_hops(self, change: int) -> None:
        self.hops = min(max(self.hops + change, 1), MAX_HOPS)
        self._render_rings()

    def action_toggle_constants(self) -> None:
        self.include_constants = not self.include_constants
        self._render_rings()

    def action_close(self) -> None:
        self.dismiss()

    def export_view(self) -> dict[str, Any]:
        return {
            "view": "neighbourhood",
            "hops": self.hops,
            "ops": self.op_ids,
            "neighbourhood": self.rings(),
        }
