"""The browse screen: a tree of functions, blocks and ops coloured by device, with op detail and summary."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Tree
from textual.widgets.tree import TreeNode

from mlinspect.mil.records import Block, Operation
from mlinspect.tui import records
from mlinspect.tui.devices import badge, device_of
from mlinspect.tui.errors import shows_errors
from mlinspect.tui.loading import BrowseData
from mlinspect.tui.widgets.legend import DeviceLegend
from mlinspect.tui.widgets.op_detail import OpDetail
from mlinspect.tui.widgets.summary_panel import SummaryPanel

CHUNK = 500
"""Most op nodes shown directly under a block; larger blocks are split into ranges of this many ops."""


class OpTree(Tree):
    """A Tree whose page keys move without Textual's smooth scroll.

    Tree animates page up and page down (textual 8.x), which redrew the screen
    for about 200 ms after each press.
    """

    def action_page_down(self) -> None:
        if self.cursor_line == -1:
            self.cursor_line = 0
        self.cursor_line += self.scrollable_content_region.height - 1
        self.scroll_to_line(self.cursor_line, animate=False)

    def action_page_up(self) -> None:
        if self.cursor_line == -1:
            self.cursor_line = self.last_line
        self.cursor_line -= self.scrollable_content_region.height - 1
        self.scroll_to_line(self.cursor_line, animate=False)


class BrowseScreen(Screen[None]):
    """Render a BrowseData record. Block nodes add their ops when first expanded, so large models open fast."""

    CSS_PATH = "browse_screen.tcss"
    AUTO_FOCUS = "#browse-tree"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "expand_all", "Expand block"),
        Binding("t", "focus_tree", "Tree", show=False),
    ]

    def __init__(self, data: BrowseData) -> None:
        super().__init__()
        self.data = data
        self.selected_op_id: str | None = None

    def compose(self) -> ComposeResult:
        model = self.data.analysis.model
        with Horizontal(id="browse-body"):
            yield OpTree(Text(model.path.rsplit("/", 1)[-1], style="bold"), id="browse-tree")
            with Vertical(id="browse-side"):
                profile = self.data.profile
                yield SummaryPanel(
                    self.data.summary,
                    self.data.category_ms(),
                    None if profile is None else profile.header(),
                    id="browse-summary",
                )
                yield OpDetail(id="browse-detail")
        yield DeviceLegend(bool(self.data.placements), id="browse-legend")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.root.expand()
        first_block: TreeNode | None = None
        for program_model in self.data.analysis.model.programs():
            for function in program_model.program.functions.values():
                count = sum(1 for _ in function.walk())
                label = Text(f"function {function.name}", style="bold")
                label.append(
                    f"  {function.opset}, {count} ops"
                    + (", default" if function.is_default else "")
                )
                function_node = tree.root.add(label, data=("function", function.name), expand=True)
                for opset, block in function.specializations.items():
                    suffix = (
                        ""
                        if opset == function.opset
                        else f" (specialization {opset}, not analyzed)"
                    )
                    node = self._add_block(function_node, block, suffix)
                    first_block = first_block or node
        if first_block is not None:
            self._fill(first_block)
            first_block.expand()
        self.query_one(OpDetail).show_op(None)
        tree.focus()

    def _add_block(self, parent: TreeNode, block: Block, suffix: str = "") -> TreeNode:
        label = Text(f"block {block.path}", style="italic")
        label.append(f"  {len(block.operations)} ops{suffix}")
        return parent.add(label, data=("block", block))

    def _op_label(self, op: Operation) -> Text:
        label = badge(device_of(self.data.placements, op.id))
        label.append(f" {op.name}")
        label.append(f"  {op.type}", style="dim")
        return label

    @on(Tree.NodeExpanded, "#browse-tree")
    @shows_errors
    def _node_expanded(self, event: Tree.NodeExpanded) -> None:
        self._fill(event.node)

    def _fill(self, node: TreeNode) -> None:
        kind, value = node.data or (None, None)
        if node.children or kind not in ("block", "ops"):
            return
        if kind == "block" and len(value.operations) > CHUNK:
            # Tree keeps a line per expanded node, so a block of thousands of ops is split into
            # ranges of CHUNK ops that get their op nodes only when expanded.
            for start in range(0, len(value.operations), CHUNK):
                chunk = value.operations[start : start + CHUNK]
                label = Text(f"ops {start}–{start + len(chunk) - 1}", style="italic")
                node.add(label, data=("ops", chunk))
            node.children[0].expand()
            self._fill(node.children[0])
            return
        operations = value.operations if kind == "block" else value
        for op in operations:
            if op.blocks:
                op_node = node.add(self._op_label(op), data=("op", op.id))
                for block in op.blocks:
                    self._add_block(op_node, block)
            else:
                node.add_leaf(self._op_label(op), data=("op", op.id))

    @on(Tree.NodeHighlighted, "#browse-tree")
    @shows_errors
    def _node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        kind, value = event.node.data or (None, None)
        if kind != "op":
            return
        self.selected_op_id = value
        self.query_one(OpDetail).show_op(self.op_detail(value))

    def op_detail(self, op_id: str) -> dict[str, Any] | None:
        op_analysis = self.data.ops.get(op_id)
        if op_analysis is None:
            return None
        index = self.data.analysis.indexes[op_analysis.op.function]
        return records.op_detail(op_analysis, index, self.data.placements)

    def action_expand_all(self) -> None:
        """Expand the highlighted node and every block below it."""
        tree = self.query_one(Tree)
        node = tree.cursor_node
        if node is None:
            return
        pending = [node]
        while pending:
            current = pending.pop()
            self._fill(current)
            current.expand()
            pending.extend(current.children)

    def action_focus_tree(self) -> None:
        self.query_one(Tree).focus()

    def export_view(self) -> dict[str, Any]:
        """Return the summary and the selected op's detail as plain data."""
        return {
            "view": "browse",
            "model": self.data.analysis.model.path,
            "selected": None
            if self.selected_op_id is None
            else self.op_detail(self.selected_op_id),
            "summary": self.data.summary,
        }
