"""A read-only table that renders only its visible rows, so that tens of thousands of rows stay fast.

Textual's DataTable measures every cell of every added row to size its
columns (DataTable._update_dimensions in textual 8), which took about 5 s
for 10,000 rows of the paired op table. This table takes fixed column
widths and draws each visible line on demand with the line API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = Text | str


class RowTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header line, with a row cursor moved by keys and mouse clicks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First row", show=False),
        Binding("end", "jump(-1)", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--cursor",
        "row-table--even-row",
    }
    DEFAULT_CSS = """
    RowTable {
        background: $surface;
    }
    RowTable > .row-table--header {
        text-style: bold;
        background: $panel;
    }
    RowTable > .row-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RowTable:blur > .row-table--cursor {
        background: $block-cursor-blurred-background;
    }
    RowTable > .row-table--even-row {
        background: $surface-lighten-1 40%;
    }
    """

    class RowHighlighted(Message):
        """Posted when the cursor moves to another row or the rows change."""

        def __init__(self, table: RowTable, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, columns: Sequence[tuple[str, int]], **kwargs) -> None:
        """`columns` are (title, width in cells) pairs; cells longer than their column end in an ellipsis."""
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.rows: Sequence[Sequence[Cell]] = ()
        self.cursor_row = 0
        self._width = sum(width + 1 for _, width in self.columns)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: Sequence[Sequence[Cell]], cursor_row: int = 0) -> None:
        """Replace every row and put the cursor on `cursor_row` (clamped to the rows)."""
        self.rows = rows
        size = Size(self._width, len(self.rows) + 1)
        if size != self.virtual_size:
            # Assigning `virtual_size` requests a layout pass of the whole screen, but the
            # table's own size does not depend on its rows, so only its scrollbars need updating.
            # NOTE: `_scroll_update` is private Textual API (textual 8.x).
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
        self.cursor_row = max(0, min(cursor_row, len(self.rows) - 1))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.RowHighlighted(self, self.cursor_row))

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        row = max(0, min(row, len(self.rows) - 1))
        if row == self.cursor_row:
            return
        self.cursor_row = row
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.RowHighlighted(self, row))

    def _scroll_to_cursor(self) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(self.scrollable_content_region.height - 1, 1)
        self.move_cursor(self.cursor_row + direction * page)

    def action_jump(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        self.focus()
        row = round(self.scroll_offset.y) + offset.y - 1
        if row < len(self.rows):
            self.move_cursor(row)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            titles = [title for title, _ in self.columns]
            style = self.get_component_rich_style("row-table--header")
            return self._strip(titles, style).crop(scroll_x, scroll_x + width)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        if index == self.cursor_row:
            style = self.get_component_rich_style("row-table--cursor")
        elif index % 2:
            style = self.get_component_rich_style("row-table--even-row")
        else:
            style = self.rich_style
        return self._strip(self.rows[index], style).crop(scroll_x, scroll_x + width)

    def _strip(self, cells: Sequence[Cell], style: Style) -> Strip:
        line = Text(style=style, no_wrap=True, end="")
        for cell, (_, width) in zip(cells, self.columns, strict=False):
            text = cell.copy() if isinstance(cell, Text) else Text(cell)
            text.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(text)
            line.append(" ")
        segments = list(line.render(self.app.console))
        segments.append(Segment(" " * max(self.size.width - self._width, 0), style))
        return Strip(segments).simplify()
