"""The `profile` and `export` commands."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mlinspect.cli.main import ModelArgument, app, console, reports_errors
from mlinspect.cli.profile_options import (
    AttributeUnitsOption,
    ComputeUnits,
    ProfileOption,
    attach_profile,
)
from mlinspect.errors import ExitStatus, MlinspectError


class ExportFormat(str, Enum):
    chrome_trace = "chrome-trace"
    graphml = "graphml"
    dot = "dot"


def make_runtime() -> Any:
    """Return the Core ML runtime; raises RecordingUnavailableError off macOS. Tests replace this function."""
    from mlinspect.profile.coreml_adapter import CoreMLRuntime

    return CoreMLRuntime()


class _ProgressBar:
    """A rich progress bar on stderr with one task per compute-unit setting."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def start(self, compute_units: str, steps: int) -> None:
        self._tasks[compute_units] = self._progress.add_task(compute_units, total=steps)

    def step(self, compute_units: str, stage: str) -> None:
        self._progress.update(
            self._tasks[compute_units], advance=1, description=f"{compute_units}: {stage}"
        )


@app.command("profile")
@reports_errors
def profile_command(
    model: ModelArgument,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the profile JSON.", show_default=False),
    ],
    compute_units: Annotated[
        list[ComputeUnits] | None,
        typer.Option(
            "--compute-units",
            help="A compute-unit setting to record (repeatable); default all four.",
        ),
    ] = None,
    iterations: Annotated[
        int, typer.Option("--iterations", min=1, help="Timed predictions per setting.")
    ] = 50,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, help="Untimed predictions before the timed ones.")
    ] = 5,
    loads: Annotated[
        int, typer.Option("--loads", min=1, help="Model loads timed per setting.")
    ] = 3,
    inputs: Annotated[
        Path | None,
        typer.Option(
            "--inputs",
            help="An .npz file with one array per model input; default: generated inputs.",
            show_default=False,
        ),
    ] = None,
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            help="The function of a multifunction model to run; default: its default function.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Record a profile on macOS: compile, load and prediction latency and the compute plan per compute-unit setting."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlinspect.cli.render_profile import render_recording
    from mlinspect.profile import save_profile
    from mlinspect.profile.record import COMPUTE_UNITS, profile_record
    from mlinspect.profile.recording import RecordingOptions, record_profile

    runtime = make_runtime()
    options = RecordingOptions(
        compute_units=tuple(units.value for units in compute_units)
        if compute_units
        else COMPUTE_UNITS,
        iterations=iterations,
        warmup=warmup,
        loads=loads,
        inputs=inputs,
        function=function,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        profile = record_profile(model, runtime, options, progress=_ProgressBar(progress))
    save_profile(profile, output)

    record = profile_record(profile)
    render_recording(record, str(output), console())
    if all(run.predict_ms is None for run in profile.runs):
        raise typer.Exit(int(ExitStatus.CHECK_FAILED))


@app.command("export")
@reports_errors
def export_command(
    model: ModelArgument,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="The file format to write.", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write; default: stdout.", show_default=False),
    ] = None,
    profile: ProfileOption = None,
    compute_units: AttributeUnitsOption = None,
) -> None:
    """Write a Chrome trace (needs --profile), GraphML or Graphviz DOT file of the model's ops."""
    from mlinspect.analysis.ops import analyze
    from mlinspect.reader import load, require_program

    if export_format is ExportFormat.chrome_trace and profile is None:
        raise MlinspectError(
            "--format chrome-trace needs --profile FILE: the trace shows latency estimated from a recorded profile"
        )
    loaded = require_program(load(model))
    analysis = analyze(loaded)
    recorded, attribution = (None, None)
    if profile is not None:
        recorded, attribution = attach_profile(profile, loaded, analysis, compute_units)

    if export_format is ExportFormat.graphml:
        from mlinspect.export.graphml import write_graphml

        if output is None:
            write_graphml(analysis, sys.stdout.buffer, attribution)
        else:
            with open(output, "wb") as file:
                write_graphml(analysis, file, attribution)
        return

    if export_format is ExportFormat.dot:
        from mlinspect.export.dot import dot_text

        text = dot_text(analysis, attribution)
    else:
        from mlinspect.export.chrome_trace import chrome_trace

        assert recorded is not None and attribution is not None
        text = json.dumps(chrome_trace(analysis, recorded, attribution), indent=1) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
