"""The `--profile` and `--compute-units` options shared by summary, ops and export, and what they load."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mlinspect.analysis.ops import ModelAnalysis
    from mlinspect.mil.records import Model
    from mlinspect.profile.attribution import Attribution
    from mlinspect.profile.record import Profile


class ComputeUnits(str, Enum):
    all = "all"
    cpu_and_ne = "cpu_and_ne"
    cpu_and_gpu = "cpu_and_gpu"
    cpu_only = "cpu_only"


ProfileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help="A profile JSON recorded by `mlinspect profile` for this model; adds devices and estimated latency.",
        show_default=False,
    ),
]
AttributeUnitsOption = Annotated[
    ComputeUnits | None,
    typer.Option(
        "--compute-units",
        help="Which run of the profile to attribute latency from; default all, or the first run that succeeded.",
        show_default=False,
    ),
]


def attach_profile(
    path: Path, model: Model, analysis: ModelAnalysis, compute_units: ComputeUnits | None
) -> tuple[Profile, Attribution]:
    """Load the profile at `path`, check it belongs to `model`, and attribute latency to the analyzed ops."""
    from mlinspect.profile import attribute, load_profile

    profile = load_profile(path, model)
    return profile, attribute(
        profile, analysis, None if compute_units is None else compute_units.value
    )
