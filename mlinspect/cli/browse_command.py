"""The `mlinspect browse` command: the Textual browser of one model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlinspect.cli.main import ModelArgument, app, reports_errors


@app.command()
@reports_errors
def browse(
    model: ModelArgument,
    export_dir: Annotated[
        Path,
        typer.Option(
            "--export-dir", help="Folder where the `e` key writes the current view as JSON."
        ),
    ] = Path("."),
) -> None:
    """Browse a model's functions, blocks and ops, with op details, device colours and a summary."""
    if not model.exists():
        raise typer.BadParameter(f"{model} not found", param_hint="MODEL")
    # Textual is imported here, not at the top, so that other commands never load it.
    from mlinspect.tui.app import browse_app

    browse_app(model, export_dir).run()
