"""The `mlinspect browse` command: the Textual browser of one model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlinspect.cli.main import ModelArgument, app, reports_errors
from mlinspect.cli.profile_options import AttributeUnitsOption, ProfileOption, attach_profile


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
    profile: ProfileOption = None,
    compute_units: AttributeUnitsOption = None,
) -> None:
    """Browse a model's functions, blocks and ops, with op details, device colours and a summary."""
    if not model.exists():
        raise typer.BadParameter(f"{model} not found", param_hint="MODEL")
    if profile is None:
        # Textual is imported here, not at the top, so that other commands never load it.
        from mlinspect.tui.app import browse_app

        browse_app(model, export_dir).run()
        return

    # With a profile, the model is read and the profile checked against it before the
    # UI starts, so that a wrong or invalid profile ends with a one-line error.
    from mlinspect.analysis.ops import analyze
    from mlinspect.analysis.summary import summarize
    from mlinspect.comparison.timing import SideProfile
    from mlinspect.reader import load

    model_record = load(model)
    analysis = analyze(model_record)
    side = SideProfile(*attach_profile(profile, model_record, analysis, compute_units))

    from mlinspect.tui.app import browse_app
    from mlinspect.tui.loading import BrowseData

    data = BrowseData(analysis, summarize(model_record, analysis), profile=side)
    browse_app(export_dir=export_dir, data=data).run()
