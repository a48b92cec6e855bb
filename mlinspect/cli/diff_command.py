"""The `mlinspect diff` command."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mlinspect.cli.main import (
    FormatOption,
    JsonOption,
    OutputFormat,
    app,
    chosen_format,
    console,
    load_model,
    reports_errors,
    write_json,
)
from mlinspect.cli.profile_options import AttributeUnitsOption, attach_profile
from mlinspect.errors import ExitStatus


class Check(str, Enum):
    weight_growth = "weight-growth"
    lost_quantization = "lost-quantization"
    only_in_b = "only-in-b"
    any_change = "any-change"


def failed_checks(document: dict[str, Any], checks: list[Check], min_coverage: float | None) -> list[str]:
    """Return one message per violated check; empty when every check passes."""
    failures = []
    if min_coverage is not None and document["coverage"] < min_coverage:
        failures.append(f"coverage {document['coverage']:.3f} is below --min-coverage {min_coverage}")
    for check in checks:
        if check is Check.weight_growth and document["weights"]["delta"] > 0:
            failures.append(f"weights grew by {document['weights']['delta']} bytes")
        if check is Check.lost_quantization:
            lost = [
                p for p in document["pairs"]
                if _quantized_weight(p["a"]) and not _quantized_weight(p["b"])
                or _quantized_activations(p["a"]) and not _quantized_activations(p["b"])
            ]
            if lost:
                failures.append(f"{len(lost)} ops lost weight or activation quantization, e.g. {lost[0]['b']['id']}")
        if check is Check.only_in_b and document["only_in_b"]:
            failures.append(f"{len(document['only_in_b'])} ops exist only in B")
        changed = [p for p in document["pairs"] if p["changes"]]
        if check is Check.any_change and (
            document["findings"] or changed or document["only_in_a"] or document["only_in_b"]
        ):
            failures.append(
                f"the models differ: {len(document['findings'])} findings, {len(changed)} changed pairs, "
                f"{len(document['only_in_a'])} ops only in A, {len(document['only_in_b'])} only in B"
            )
    return failures


def _quantized_weight(side: dict[str, Any]) -> bool:
    from mlinspect.analysis.weights import FLOAT_DTYPES

    return side["weight"] is not None and side["weight"]["dtype"] not in FLOAT_DTYPES


def _quantized_activations(side: dict[str, Any]) -> bool:
    return bool(side["activations"]) and all(x["quantized"] for x in side["activations"])


@app.command()
@reports_errors
def diff(
    model_a: Annotated[Path, typer.Argument(help="The reference model (A).", show_default=False)],
    model_b: Annotated[Path, typer.Argument(help="The model compared with it (B).", show_default=False)],
    json_flag: JsonOption = False,
    output_format: FormatOption = None,
    all_pairs: Annotated[bool, typer.Option("--all-pairs", help="List every changed pair in the text report.")] = False,
    fail_on: Annotated[
        list[Check] | None,
        typer.Option("--fail-on", help="Exit with status 1 when this happens (repeatable)."),
    ] = None,
    min_coverage: Annotated[
        float | None,
        typer.Option("--min-coverage", min=0.0, max=1.0, help="Exit with status 1 when fewer compute ops pair (0 to 1)."),
    ] = None,
    profile_a: Annotated[
        Path | None,
        typer.Option("--profile-a", help="Profile JSON of A, recorded by `mlinspect profile`.", show_default=False),
    ] = None,
    profile_b: Annotated[
        Path | None,
        typer.Option("--profile-b", help="Profile JSON of B, recorded by `mlinspect profile`.", show_default=False),
    ] = None,
    compute_units: AttributeUnitsOption = None,
) -> None:
    """Compare two variants of a model: pair their ops and explain where the bytes went."""
    from mlinspect.analysis.ops import analyze
    from mlinspect.comparison.compare import compare, to_json
    from mlinspect.comparison.timing import SideProfile
    from mlinspect.reader import require_program

    model_a_record = require_program(load_model(model_a))
    model_b_record = require_program(load_model(model_b))
    analysis_a, analysis_b = analyze(model_a_record), analyze(model_b_record)
    side_a = side_b = None
    if profile_a is not None:
        side_a = SideProfile(*attach_profile(profile_a, model_a_record, analysis_a, compute_units))
    if profile_b is not None:
        side_b = SideProfile(*attach_profile(profile_b, model_b_record, analysis_b, compute_units))
    comparison = compare(analysis_a, analysis_b, side_a, side_b)
    document = to_json(comparison)

    chosen = chosen_format(json_flag, output_format)
    for warning in document["warnings"]:
        sys.stderr.write(f"mlinspect: warning: {warning}\n")
    if chosen is OutputFormat.json:
        write_json(document)
    elif chosen is None and sys.stdout.isatty():
        # Textual is imported here, not at the top, so that piped and JSON output never load it.
        from mlinspect.tui.app import diff_app
        from mlinspect.tui.loading import DiffData

        diff_app(data=DiffData(comparison, document)).run()
    else:
        from mlinspect.cli.render_diff import render_diff

        render_diff(document, console(), all_pairs=all_pairs)

    failures = failed_checks(document, fail_on or [], min_coverage)
    for failure in failures:
        sys.stderr.write(f"mlinspect: check failed: {failure}\n")
    if failures:
        raise typer.Exit(ExitStatus.CHECK_FAILED)
