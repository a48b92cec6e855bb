"""The `mlinspect` command: argument parsing, error reporting and output; the only module that prints."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from mlinspect.cli.profile_options import AttributeUnitsOption, ProfileOption, attach_profile
from mlinspect.errors import ExitStatus, MlinspectError

if TYPE_CHECKING:
    from mlinspect.mil.records import Model

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Inspect, profile and diff Core ML models (.mlpackage, .mlmodel).",
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class OpSort(str, Enum):
    program = "program"
    bytes = "bytes"
    flops = "flops"
    type = "type"
    name = "name"
    latency = "latency"


ModelArgument = Annotated[Path, typer.Argument(help="A .mlpackage folder or .mlmodel file.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of the text report.")]
FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="Output format; --json is short for --format json.")
]


_options = {"traceback": False}


def _print_version(value: bool) -> None:
    if value:
        from mlinspect import __version__

        sys.stdout.write(f"mlinspect {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the full traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Inspect, profile and diff Core ML models (.mlpackage, .mlmodel)."""
    _options["traceback"] = traceback


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn an MlinspectError raised by `command` into `mlinspect: error: ...` on stderr and its exit status."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except MlinspectError as error:
            if _options["traceback"]:
                raise
            sys.stderr.write(f"mlinspect: error: {error}\n")
            raise typer.Exit(int(error.exit_status)) from None

    return wrapper


def chosen_format(json_flag: bool, output_format: OutputFormat | None) -> OutputFormat | None:
    """Return the format chosen with --json or --format, None when neither is given."""
    if json_flag and output_format not in (None, OutputFormat.json):
        raise MlinspectError(f"--json and --format {output_format.value} contradict each other; pass one of them")
    return OutputFormat.json if json_flag else output_format


def _format(json_flag: bool, output_format: OutputFormat | None) -> OutputFormat:
    return chosen_format(json_flag, output_format) or OutputFormat.text


def load_model(path: Path) -> Model:
    """Load a model for one command and exempt its records from later garbage collections.

    The records contain no reference cycles and live until the process ends,
    so the collector's passes over them are wasted: freezing them cut the
    summary of a 50,000-op program from 0.96 s to 0.67 s (bench/synthetic.py
    package, 2-core Linux VM).
    """
    import gc

    from mlinspect.reader import load

    model = load(path)
    gc.freeze()
    return model


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def console():
    from rich.console import Console

    # Piped output gets a wide layout so that long op ids stay on one line,
    # unless COLUMNS sets the width.
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(soft_wrap=True, width=200 if wide else None)


@app.command()
@reports_errors
def summary(
    model: ModelArgument,
    json_flag: JsonOption = False,
    output_format: FormatOption = None,
    profile: ProfileOption = None,
    compute_units: AttributeUnitsOption = None,
) -> None:
    """Summarize a model: inputs, outputs, functions, op counts, weight bytes, quantization coverage."""
    from mlinspect.analysis.ops import analyze
    from mlinspect.analysis.summary import summarize

    loaded = load_model(model)
    analysis = analyze(loaded)
    record = summarize(loaded, analysis)
    for warning in loaded.warnings:
        _warn(warning)
    if profile is not None:
        from mlinspect.profile.report import profile_summary_record

        record["profile"] = profile_summary_record(*attach_profile(profile, loaded, analysis, compute_units))
    if _format(json_flag, output_format) is OutputFormat.json:
        write_json(record)
        return
    from mlinspect.cli.render_summary import render_summary

    render_summary(record, console())
    if profile is not None:
        from mlinspect.cli.render_profile import render_profile_section

        render_profile_section(record["profile"], console())


@app.command()
@reports_errors
def ops(
    model: ModelArgument,
    category: Annotated[
        list[str] | None, typer.Option("--category", "-c", help="Show only ops of this category (repeatable).")
    ] = None,
    sort: Annotated[OpSort, typer.Option("--sort", help="Row order.")] = OpSort.program,
    include_constants: Annotated[
        bool, typer.Option("--constants", help="Include const and constexpr ops (hidden by default).")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many rows.")] = None,
    json_flag: JsonOption = False,
    output_format: FormatOption = None,
    profile: ProfileOption = None,
    compute_units: AttributeUnitsOption = None,
) -> None:
    """List one row per op: id, type, category, weight dtype and bytes, activation quantization, static cost."""
    from mlinspect.analysis import categories as cat
    from mlinspect.analysis.ops import analyze, op_record
    from mlinspect.reader import require_program

    if category:
        unknown = sorted(set(category) - set(cat.CATEGORIES))
        if unknown:
            raise MlinspectError(f"unknown category {unknown[0]!r}; try one of: {', '.join(cat.CATEGORIES)}")

    if sort is OpSort.latency and profile is None:
        raise MlinspectError("--sort latency needs --profile FILE, a profile recorded for this model")

    loaded = require_program(load_model(model))
    analysis = analyze(loaded)
    rows = [op_record(a) for a in analysis.ops]
    if profile is not None:
        from mlinspect.profile.report import timing_record

        timings = attach_profile(profile, loaded, analysis, compute_units)[1].ops
        for row in rows:
            timing = timings.get(row["id"])
            row["profile"] = None if timing is None else timing_record(timing)
    if category:
        rows = [row for row in rows if row["category"] in category]
    elif not include_constants:
        rows = [row for row in rows if row["category"] not in (cat.CONST, cat.WEIGHT_DECOMPRESSION)]
    rows = sort_ops(rows, sort)
    total = len(rows)
    if limit is not None:
        rows = rows[:limit]
    for warning in loaded.warnings:
        _warn(warning)

    if _format(json_flag, output_format) is OutputFormat.json:
        write_json({"schema": "mlinspect.ops/1", "model": str(model), "ops": rows, "warnings": list(loaded.warnings)})
        return
    if profile is not None:
        from mlinspect.cli.render_profile import render_profiled_ops

        render_profiled_ops(rows, console())
    else:
        from mlinspect.cli.render_summary import render_ops

        render_ops(rows, console())
    if len(rows) < total:
        console().print(f"showing {len(rows)} of {total} ops (--limit {limit})")


def sort_ops(rows: list[dict[str, Any]], sort: OpSort) -> list[dict[str, Any]]:
    keys = {
        OpSort.program: lambda row: (row["function"], row["index"]),
        OpSort.bytes: lambda row: -row["weight_bytes"],
        # Ops without a static count (shapes not fixed) sort last.
        OpSort.flops: lambda row: (row["flops"] is None, -(row["flops"] or 0)),
        OpSort.type: lambda row: (row["type"], row["function"], row["index"]),
        OpSort.name: lambda row: row["id"],
        OpSort.latency: lambda row: -((row.get("profile") or {}).get("estimated_ms") or 0.0),
    }
    return sorted(rows, key=keys[sort])


def _warn(message: str) -> None:
    sys.stderr.write(f"mlinspect: warning: {message}\n")


def main() -> None:
    """Run the command line; usage errors become one `mlinspect: error:` line with exit status 2."""
    from typer.exceptions import Abort

    try:
        status = app(prog_name="mlinspect", standalone_mode=False)
    except BrokenPipeError:
        # The reader of stdout went away (as with `| head`): not an error of ours.
        sys.stderr.close()
        sys.exit(ExitStatus.SUCCESS)
    except typer.TyperException as error:  # a usage error found while parsing arguments
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()
        else:
            sys.stderr.write(f"mlinspect: error: {error.format_message().rstrip('.')}; see `mlinspect --help`\n")
        sys.exit(ExitStatus.INVALID_INPUT)
    except Abort:
        sys.stderr.write("mlinspect: aborted\n")
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else ExitStatus.SUCCESS)


# Commands defined in their own modules register on `app` when imported.
from mlinspect.cli import (
    browse_command,  # noqa: F401
    diff_command,  # noqa: F401
    profile_commands,  # noqa: F401
)
