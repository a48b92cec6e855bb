"""Detail of one op, or of both sides of a pair: type, attributes, typed inputs and outputs, weight, cost, device."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mlinspect.humanize import human_bytes, human_count
from mlinspect.tui.devices import LABELS, badge
from mlinspect.tui.widgets.bars import SIDE_STYLES


def detail_renderable(detail: dict[str, Any] | None, title: str = "") -> RenderableType:
    """Return the lines that describe one op detail record (see `records.op_detail`)."""
    if detail is None:
        return Text(f"{title}: no op on this side" if title else "no op selected", style="italic")
    lines = Text()
    if title:
        lines.append(f" {title} ", style=f"bold #ffffff on {SIDE_STYLES.get(title, '#5f6670')}")
        lines.append(" ")
    lines.append(detail["id"], style="bold")
    lines.append(f"\n{detail['type']}  ({detail['category']})  block {detail['block']}\n")
    lines.append_text(placement_lines(detail))
    lines.append(
        f"\nstatic cost {human_count(detail['flops'], 'FLOP')}, moves {human_bytes(detail['bytes_moved'])}\n"
    )

    weight = detail["weight"]
    if weight is None:
        lines.append("weight: none\n")
    else:
        shape = "?" if weight["shape"] is None else "x".join(str(d) for d in weight["shape"])
        lines.append(
            f"weight: {weight['dtype']} [{shape}], scheme {weight['scheme']}, {human_bytes(weight['bytes'])}\n"
        )
    lines.append(f"stored bytes attributed: {human_bytes(detail['weight_bytes'])}\n")
    for activation in detail["activations"]:
        state = f"quantized {activation['dtype']}" if activation["quantized"] else "not quantized"
        lines.append(f"activation {activation['param']}: {state}\n")

    table = Table(box=None, padding=(0, 1), show_header=True, show_edge=False)
    table.add_column("input", style="bold")
    table.add_column("value")
    table.add_column("type")
    for item in detail["inputs"]:
        table.add_row(item["param"], item["value"], item["type"])
    for output in detail["outputs"]:
        table.add_row(Text("output", style="italic"), output["name"], output["type"])
    for name, value in detail["attributes"].items():
        table.add_row(Text("attribute", style="italic"), name, value)
    return Group(lines, table)


def placement_lines(detail: dict[str, Any]) -> Text:
    """Return the preferred device badge, the supported devices, the cost weight and the estimated ms."""
    text = Text("preferred device ")
    text.append_text(badge(detail["device"]))
    supported = detail.get("supported_devices") or []
    if supported:
        text.append("  supported " + ", ".join(LABELS.get(d, d) for d in supported))
    cost_weight = detail.get("cost_weight")
    milliseconds = detail.get("estimated_ms")
    if cost_weight is not None or milliseconds is not None:
        text.append("\ncost weight " + ("-" if cost_weight is None else f"{cost_weight:.4f}"))
        text.append("  est. " + ("-" if milliseconds is None else f"{milliseconds:.3f} ms"))
        text.append(" (estimated from the compute plan)", style="italic")
    return text


class OpDetail(Static):
    """The detail pane of one op (browse) or of both sides of a pair (diff)."""

    def show_op(self, detail: dict[str, Any] | None) -> None:
        self.update(detail_renderable(detail))

    def show_pair(
        self,
        detail_a: dict[str, Any] | None,
        detail_b: dict[str, Any] | None,
        changes: tuple[str, ...],
    ) -> None:
        grid = Table.grid(expand=True, padding=(0, 2))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(detail_renderable(detail_a, "A"), detail_renderable(detail_b, "B"))
        header = Text("changes: " + ("; ".join(changes) if changes else "none"), style="bold")
        self.update(Group(header, grid))
