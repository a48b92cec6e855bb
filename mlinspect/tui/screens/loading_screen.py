"""The screen shown while the worker reads and analyzes the models."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static


class LoadingScreen(Screen[None]):
    """A loading indicator, replaced by the result's screen, or by the error message when loading fails."""

    CSS_PATH = "loading_screen.tcss"

    def compose(self) -> ComposeResult:
        yield Static("Reading and analyzing the models...", id="loading-message")
        yield LoadingIndicator()
        yield Footer()

    def show_error(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one("#loading-message", Static).update(f"{message}\n\nPress q to quit.")
        self.add_class("failed")
