"""The diff screen: both models, category bars, the paired op table with filters, details and findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from mlinspect.humanize import human_bytes, human_count, signed_bytes
from mlinspect.tui import records
from mlinspect.tui.devices import DEVICES, LABELS, badge
from mlinspect.tui.errors import shows_errors
from mlinspect.tui.loading import DiffData
from mlinspect.tui.records import ONLY_A, ONLY_B, PAIR, SCOPES, SORTS, PairRow, RowFilter
from mlinspect.tui.widgets.category_panel import CategoryPanel
from mlinspect.tui.widgets.legend import DeviceLegend
from mlinspect.tui.widgets.model_header import ModelHeader
from mlinspect.tui.widgets.op_detail import OpDetail
from mlinspect.tui.widgets.row_table import RowTable

KIND_MARKS = {PAIR: "=", ONLY_A: "A", ONLY_B: "B"}
# Column titles and widths in cells. The op and type columns grow to their longest value, up to
# MAX_NAME_WIDTH; "est. ms" is latency estimated from the compute plan of each side's profile.
COLUMNS = (
    ("", 1),
    ("A op", 8),
    ("B op", 8),
    ("type", 8),
    ("category", 14),
    ("A weight", 9),
    ("B weight", 9),
    ("Δ bytes", 10),
    ("cost", 7),
    ("A dev", 9),
    ("B dev", 9),
    ("A est. ms", 9),
    ("B est. ms", 9),
    ("changes", 60),
)
MAX_NAME_WIDTH = 40


def column_widths(rows: list[PairRow]) -> list[tuple[str, int]]:
    """Return COLUMNS with the op and type columns widened to fit their longest value."""
    longest = {"A op": 0, "B op": 0, "type": 0}
    for row in rows:
        if row.a is not None:
            longest["A op"] = max(longest["A op"], len(row.a["id"]) - len(row.a["function"]) - 1)
        if row.b is not None:
            longest["B op"] = max(longest["B op"], len(row.b["id"]) - len(row.b["function"]) - 1)
        types = {side["type"] for side in row.sides()}
        longest["type"] = max(longest["type"], sum(len(t) for t in types) + len(types) - 1)
    return [
        (title, min(max(width, longest.get(title, 0)), MAX_NAME_WIDTH)) for title, width in COLUMNS
    ]


def _milliseconds(side: dict[str, Any] | None, placements) -> Text | str:
    if side is None:
        return ""
    value = records.side_ms(side, placements)
    return "        -" if value is None else f"{value:>9.3f}"


class LazyCells(Sequence[list[Any]]):
    """The cells of each shown row, built when the table first draws that row."""

    def __init__(self, rows: list[PairRow], cells: Callable[[PairRow], list[Any]]) -> None:
        self.rows = rows
        self.cells = cells
        self.built: dict[int, list[Any]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if index not in self.built:
            self.built[index] = self.cells(self.rows[index])
        return self.built[index]


_NOTHING_SHOWN = object()


class DiffScreen(Screen[None]):
    """Render a DiffData record. Filters and sort change only which rows the table shows, never the data."""

    CSS_PATH = "diff_screen.tcss"
    # Without this, Textual focuses the first focusable widget, the findings list.
    AUTO_FOCUS = "#diff-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("escape", "clear", "Clear filters", key_display="esc"),
        Binding("c", "toggle_scope('changed')", "Changed only"),
        Binding("a", "toggle_scope('only_a')", "Only in A"),
        Binding("b", "toggle_scope('only_b')", "Only in B"),
        Binding("g", "next_category", "Category"),
        Binding("d", "next_device", "Device"),
        Binding("s", "next_sort", "Sort"),
        Binding("n", "neighbourhood", "Neighbours"),
        Binding("f", "focus_findings", "Findings"),
        Binding("t", "focus_table", "Table", show=False),
    ]

    def __init__(self, data: DiffData) -> None:
        super().__init__()
        self.data = data
        self.rows = records.pair_rows(data.document)
        self.row_filter = RowFilter()
        self.shown_rows: list[PairRow] = []
        self.categories = [row["category"] for row in data.document["categories"]]
        # The row whose detail the pane shows (None: the "no rows match" message), so that the
        # RowHighlighted message that follows `refresh_table` does not render the same detail again.
        self._detail_row: PairRow | None | object = _NOTHING_SHOWN

    def compose(self) -> ComposeResult:
        document = self.data.document
        profiled = self.data.profiled
        yield ModelHeader(document, self.data.hosts, id="diff-header")
        with Horizontal(id="diff-body"):
            with Vertical(id="diff-side"):
                yield CategoryPanel(document["categories"], id="diff-categories")
                yield Static("Findings (enter shows their ops)", classes="diff-title")
                yield OptionList(
                    *[
                        Option(Text(f"{i + 1}. {f['text']}"), id=str(i))
                        for i, f in enumerate(document["findings"])
                    ],
                    id="diff-findings",
                )
            with Vertical(id="diff-main"):
                with Horizontal(id="diff-filters"):
                    yield Select(
                        [(c, c) for c in self.categories],
                        prompt="all categories",
                        id="diff-category",
                    )
                    yield Select(
                        [(label, key) for key, label in SCOPES.items()],
                        value="all",
                        allow_blank=False,
                        id="diff-scope",
                    )
                    yield Select(
                        [(f"sort: {s}", s) for s in SORTS],
                        value="program",
                        allow_blank=False,
                        id="diff-sort",
                    )
                yield Input(placeholder="search op id or type", id="diff-search")
                yield Static(id="diff-status")
                yield RowTable(column_widths(self.rows), id="diff-table")
                yield OpDetail(id="diff-detail")
        yield DeviceLegend(profiled, id="diff-legend")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        self.query_one("#diff-search", Input).display = False
        self.refresh_table()
        table.focus()

    # Table contents

    def refresh_table(self, keep: str | None = None) -> None:
        """Show the rows that pass the current filters, keeping the row `keep` selected when it is still shown."""
        data = self.data
        self.shown_rows = records.select_rows(
            self.rows, self.row_filter, data.placements_a, data.placements_b
        )
        cursor = 0
        if keep is not None:
            cursor = next((i for i, row in enumerate(self.shown_rows) if row.key == keep), 0)
        self.query_one(RowTable).set_rows(LazyCells(self.shown_rows, self._cells), cursor)
        self._show_status()
        self._show_detail()

    def _cells(self, row: PairRow) -> list[Any]:
        data = self.data
        a, b = row.a, row.b
        bytes_a = a["weight_bytes"] if a else 0
        bytes_b = b["weight_bytes"] if b else 0
        delta = bytes_b - bytes_a
        op_type = (a or b)["type"]
        if a and b and a["type"] != b["type"]:
            op_type = f"{a['type']}→{b['type']}"
        return [
            KIND_MARKS[row.kind],
            a["id"].split("/", 1)[-1] if a else "",
            b["id"].split("/", 1)[-1] if b else "",
            op_type,
            row.category,
            human_bytes(a["weight_bytes"]) if a else "",
            human_bytes(b["weight_bytes"]) if b else "",
            signed_bytes(delta) if delta else "",
            human_count(max(side["flops"] or 0 for side in row.sides())),
            badge(records.side_device(a, data.placements_a)) if a else "",
            badge(records.side_device(b, data.placements_b)) if b else "",
            _milliseconds(a, data.placements_a),
            _milliseconds(b, data.placements_b),
            "; ".join(row.changes),
        ]

    def _show_status(self) -> None:
        view = self.row_filter
        parts = [
            f"{len(self.shown_rows)} of {len(self.rows)} rows",
            SCOPES[view.scope],
            f"sort {view.sort}",
        ]
        if view.category:
            parts.append(f"category {view.category}")
        if view.device:
            parts.append(f"device {LABELS[view.device]}")
        if view.search:
            parts.append(f"search {view.search!r}")
        if view.op_ids is not None:
            parts.append("ops of the selected finding (esc clears)")
        # The status line is one row high in the stylesheet, so new text needs no layout pass.
        self.query_one("#diff-status", Static).update(" · ".join(parts), layout=False)

    def selected_row(self) -> PairRow | None:
        table = self.query_one(RowTable)
        if not self.shown_rows or table.cursor_row < 0 or table.cursor_row >= len(self.shown_rows):
            return None
        return self.shown_rows[table.cursor_row]

    def _show_detail(self) -> None:
        detail = self.query_one(OpDetail)
        row = self.selected_row()
        if row is self._detail_row:
            return
        self._detail_row = row
        if row is None:
            detail.update(Text("no rows match the filters", style="italic"))
            return
        detail.show_pair(*self.pair_details(row), row.changes)

    def pair_details(self, row: PairRow) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        data = self.data
        return (
            self._op_detail(data.ops_a, data.comparison.a.indexes, row.a, data.placements_a),
            self._op_detail(data.ops_b, data.comparison.b.indexes, row.b, data.placements_b),
        )

    @staticmethod
    def _op_detail(ops, indexes, side, placements) -> dict[str, Any] | None:
        if side is None or side["id"] not in ops:
            return None
        op_analysis = ops[side["id"]]
        return records.op_detail(op_analysis, indexes[op_analysis.op.function], placements)

    @on(RowTable.RowHighlighted, "#diff-table")
    @shows_errors
    def _row_highlighted(self) -> None:
        self._show_detail()

    # Filters, sort and search

    def _set_view(self, **changes: Any) -> None:
        from dataclasses import replace

        selected = self.selected_row()
        self.row_filter = replace(self.row_filter, **changes)
        self.refresh_table(keep=selected.key if selected else None)

    def action_toggle_scope(self, scope: str) -> None:
        scope = "all" if self.row_filter.scope == scope else scope
        self.query_one("#diff-scope", Select).value = scope

    def action_next_category(self) -> None:
        choices = [None, *self.categories]
        following = choices[(choices.index(self.row_filter.category) + 1) % len(choices)]
        select = self.query_one("#diff-category", Select)
        if following is None:
            select.clear()
        else:
            select.value = following

    def action_next_device(self) -> None:
        choices = [None, *DEVICES]
        following = choices[(choices.index(self.row_filter.device) + 1) % len(choices)]
        self._set_view(device=following)

    def action_next_sort(self) -> None:
        following = SORTS[(SORTS.index(self.row_filter.sort) + 1) % len(SORTS)]
        self.query_one("#diff-sort", Select).value = following

    @on(Select.Changed, "#diff-category")
    @shows_errors
    def _category_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.BLANK else event.value
        if value != self.row_filter.category:
            self._set_view(category=value)

    @on(Select.Changed, "#diff-scope")
    @shows_errors
    def _scope_changed(self, event: Select.Changed) -> None:
        if event.value != self.row_filter.scope:
            self._set_view(scope=event.value)

    @on(Select.Changed, "#diff-sort")
    @shows_errors
    def _sort_changed(self, event: Select.Changed) -> None:
        if event.value != self.row_filter.sort:
            self._set_view(sort=event.value)

    def action_search(self) -> None:
        search = self.query_one("#diff-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#diff-search")
    @shows_errors
    def _search_changed(self, event: Input.Changed) -> None:
        self._set_view(search=event.value.strip())

    @on(Input.Submitted, "#diff-search")
    @shows_errors
    def _search_submitted(self) -> None:
        self.query_one(RowTable).focus()

    def action_clear(self) -> None:
        """Close the search and drop the finding filter. Other filters stay."""
        search = self.query_one("#diff-search", Input)
        if search.value:
            search.value = ""
        search.display = False
        if self.row_filter.op_ids is not None:
            self._set_view(op_ids=None)
        self.query_one(RowTable).focus()

    # Findings and neighbourhood

    def action_focus_findings(self) -> None:
        self.query_one("#diff-findings", OptionList).focus()

    def action_focus_table(self) -> None:
        self.query_one(RowTable).focus()

    @on(OptionList.OptionSelected, "#diff-findings")
    @shows_errors
    def _finding_selected(self, event: OptionList.OptionSelected) -> None:
        finding = self.data.document["findings"][int(event.option.id)]
        op_ids = frozenset(
            [
                *(f"a:{op_id}" for op_id in finding["ops_a"]),
                *(f"b:{op_id}" for op_id in finding["ops_b"]),
            ]
        )
        self.row_filter = RowFilter(sort=self.row_filter.sort, op_ids=op_ids)
        self.query_one("#diff-category", Select).clear()
        self.query_one("#diff-scope", Select).value = "all"
        self.refresh_table()
        self.query_one(RowTable).focus()
        self.notify(
            f"{len(self.shown_rows)} rows hold the ops of finding {int(event.option.id) + 1}"
        )

    def action_neighbourhood(self) -> None:
        from mlinspect.tui.screens.neighbourhood_screen import NeighbourhoodScreen

        row = self.selected_row()
        if row is None:
            self.notify("select a row first", severity="warning")
            return
        comparison = self.data.comparison
        self.app.push_screen(
            NeighbourhoodScreen(comparison.a.model, comparison.b.model, row.a, row.b)
        )

    def export_view(self) -> dict[str, Any]:
        """Return the table as shown (filters, sort, rows) and the selected pair, as plain data."""
        view = self.row_filter
        row = self.selected_row()
        by_kind = {PAIR: "pair", ONLY_A: "only_in_a", ONLY_B: "only_in_b"}
        return {
            "view": "diff",
            "a": self.data.document["a"]["path"],
            "b": self.data.document["b"]["path"],
            "filters": {
                "category": view.category,
                "scope": view.scope,
                "search": view.search,
                "device": view.device,
                "finding_ops": None if view.op_ids is None else sorted(view.op_ids),
                "sort": view.sort,
            },
            "rows": [
                {
                    "kind": by_kind[r.kind],
                    "method": r.method,
                    "changes": list(r.changes),
                    "a": r.a,
                    "b": r.b,
                }
                for r in self.shown_rows
            ],
            "selected": None if row is None else dict(zip(("a", "b"), self.pair_details(row))),
        }
