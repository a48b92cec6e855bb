"""The key list shown on `?`."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mlinspect.tui.devices import legend

MOUSE_HELP = (
    "Mouse: click a row, tree node or finding to select it; scroll with the wheel; "
    "click a footer key to press it."
)


class HelpScreen(ModalScreen[None]):
    """Every key of the screen underneath, with the device legend."""

    CSS_PATH = "help_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "close", "Close", key_display="esc")
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), title="Keys")
        table.add_column("key", style="bold")
        table.add_column("does")
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll(id="help-body"):
            yield Static(table)
            yield Static(legend(), id="help-legend")
            yield Static(MOUSE_HELP, id="help-mouse")
            yield Static("Press esc or ? to close.", id="help-close")

    def action_close(self) -> None:
        self.dismiss()
