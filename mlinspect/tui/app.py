"""The Textual application behind `mlinspect diff` and `mlinspect browse`, and the factories the CLI uses."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from mlinspect.tui.devices import Placements
from mlinspect.tui.loading import BrowseData, DiffData, load_browse, load_diff


class MlinspectApp(App[None]):
    """Runs `load` in a worker thread behind a loading screen, then shows the screen for its result."""

    TITLE = "mlinspect"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("e", "export", "Export JSON"),
    ]

    def __init__(
        self,
        load: Callable[[], DiffData | BrowseData],
        export_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        self._load = load
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd()
        self.data: DiffData | BrowseData | None = None

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        """Run an action as Textual does, but show an unexpected exception as an error notification.

        Every key binding runs through here, so a bug in one action leaves the app running.
        """
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:  # noqa: BLE001 - any failure of an action is reported, not fatal
            self.report_error(error, f"action {action!r}")
            return True

    def report_error(self, error: BaseException, context: str) -> None:
        """Log `error` and show it as an error notification; the app keeps running."""
        self.log.error(f"{context} failed", error=repr(error))
        self.notify(
            f"{context} failed: {type(error).__name__}: {error}",
            title="Error",
            severity="error",
            timeout=15,
        )

    def on_mount(self) -> None:
        from mlinspect.tui.screens.loading_screen import LoadingScreen

        self.push_screen(LoadingScreen())
        self.run_worker(self._load, name="load", thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "load":
            if event.state is WorkerState.ERROR:
                self.report_error(event.worker.error, f"worker {event.worker.name!r}")
            return
        if event.state is WorkerState.SUCCESS:
            self.data = event.worker.result
            self.switch_screen(self._screen_for(self.data))
        elif event.state is WorkerState.ERROR:
            self._show_load_error(event.worker.error)

    def _screen_for(self, data: DiffData | BrowseData):
        if isinstance(data, DiffData):
            from mlinspect.tui.screens.diff_screen import DiffScreen

            return DiffScreen(data)
        from mlinspect.tui.screens.browse_screen import BrowseScreen

        return BrowseScreen(data)

    def _show_load_error(self, error: BaseException | None) -> None:
        from mlinspect.errors import MlinspectError
        from mlinspect.tui.screens.loading_screen import LoadingScreen

        if isinstance(error, MlinspectError):
            message = str(error)
        else:
            message = f"loading failed: {type(error).__name__}: {error}. Rerun with `mlinspect --traceback` for details"
        if isinstance(self.screen, LoadingScreen):
            self.screen.show_error(message)
        self.notify(message, title="Loading failed", severity="error", timeout=30)

    def action_help(self) -> None:
        from mlinspect.tui.screens.help_screen import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        keys = [
            (
                active.binding.key_display or self.get_key_display(active.binding),
                active.binding.description,
            )
            for active in self.active_bindings.values()
            if active.binding.show or active.binding.description
        ]
        self.push_screen(HelpScreen(keys))

    def action_export(self) -> None:
        """Write what the current screen shows as JSON into the export folder and notify the file path."""
        export_view: Callable[[], dict[str, Any]] | None = getattr(self.screen, "export_view", None)
        if export_view is None:
            self.notify("nothing to export on this screen", severity="warning")
            return
        record = export_view()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = self.export_dir / f"mlinspect-{record['view']}-{stamp}.json"
        try:
            path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            self.notify(
                f"could not write {path}: {error.strerror}", title="Export failed", severity="error"
            )
            return
        self.notify(f"wrote {path}", title="Exported")
        self.last_export = path


def diff_app(
    path_a: str | os.PathLike[str] | None = None,
    path_b: str | os.PathLike[str] | None = None,
    data: DiffData | None = None,
    export_dir: str | os.PathLike[str] | None = None,
) -> MlinspectApp:
    """Return the diff UI for an already computed comparison (`data`) or for two model paths."""
    if data is not None:
        return MlinspectApp(lambda: data, export_dir)
    if path_a is None or path_b is None:
        raise ValueError("diff_app needs `data` or both model paths")
    return MlinspectApp(lambda: load_diff(path_a, path_b), export_dir)


def browse_app(
    path: str | os.PathLike[str] | None = None,
    export_dir: str | os.PathLike[str] | None = None,
    placements: Placements | None = None,
    data: BrowseData | None = None,
) -> MlinspectApp:
    """Return the browser of an already analyzed model (`data`) or of the model at `path`.

    `placements` colours the ops of a model read from `path` by device.
    """
    if data is not None:
        return MlinspectApp(lambda: data, export_dir)
    if path is None:
        raise ValueError("browse_app needs `data` or a model path")
    return MlinspectApp(lambda: load_browse(path, placements), export_dir)
