"""Detail of one op, or of both sides of a pair: type, attributes, typed inputs and outputs, weight, cost, device.

The pane is a line-API scroll view, not a Static with `height: auto`, because
updating such a Static requests a layout pass of the whole screen that renders
the detail again to measure its height. On the 18,000-op diff of bench/bench_tui.py
(2-core Linux machine) that kept the screen redrawing for 130 ms or more per cursor move.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

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


class OpDetail(ScrollView):
    """The detail pane of one op (browse) or of both sides of a pair (diff).

    `update` renders the content once at the pane's width and keeps the lines, so a new
    detail repaints only this pane. It needs a layout pass only when its scrollbar appears or goes.
    """

    DEFAULT_CSS = """
    OpDetail {
        overflow-x: hidden;
    }
    """

    def __init__(self, content: RenderableType = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._content: RenderableType = content
        self._lines: list[Strip] = []
        self._rendered_width = -1

    @property
    def content(self) -> RenderableType:
        """The renderable shown, as last passed to `update`."""
        return self._content

    def update(self, content: RenderableType) -> None:
        """Show `content` from its first line."""
        self._content = content
        self._render_content()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

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

    def on_resize(self, event: events.Resize) -> None:
        self._render_content()
        self.refresh()

    def _render_content(self) -> None:
        """Render the content into lines that fit the pane and set the scrollable size to fit them."""
        width, height = self.container_size
        if width <= 0:
            # Not laid out yet. The first Resize renders the content.
            return
        lines = self._render_lines(width)
        if len(lines) > height and self.styles.overflow_y == "auto":
            # The vertical scrollbar will be shown, so the text gets that much less width.
            width = max(width - self.styles.scrollbar_size_vertical, 1)
            lines = self._render_lines(width)
        self._lines = lines
        self._rendered_width = width
        size = Size(width, len(lines))
        if size != self.virtual_size:
            # Assigning `virtual_size` requests a layout pass of the whole screen. The pane's own
            # size does not depend on its content, so only its scrollbars need updating.
            # NOTE: `_scroll_update` is private Textual API (textual 8.x).
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)

    def _render_lines(self, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update(width=width, highlight=False)
        rendered = console.render_lines(self._content, options, style=self.rich_style, pad=True)
        return [Strip(line, width) for line in rendered]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._rendered_width:
            # The pane was resized and the Resize event has not arrived yet.
            self._render_content()
        index = self.scroll_offset.y + y
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._lines[index]
