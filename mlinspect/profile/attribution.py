"""Attribute measured prediction latency to ops and categories through the compute plan's cost weights.

The result is an estimate: Core ML reports one latency per prediction, and
the compute plan reports for each op an estimated share of the work (its
cost weight). Each op gets median latency x its weight / the sum of the
weights of the ops that have one. Ops without a weight get no latency and
are listed in the coverage.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import ModelAnalysis
from mlinspect.profile.errors import RunNotFoundError
from mlinspect.profile.record import ESTIMATE_LABEL, Profile, Run, Stats

UNKNOWN_DEVICE = "unknown"
# Ops resolved when the model loads, which never run during a prediction.
_LOAD_TIME_CATEGORIES = (cat.CONST, cat.WEIGHT_DECOMPRESSION)


@dataclass(frozen=True, slots=True)
class OpTiming:
    """Device placement and estimated latency of one op, keyed by its op id."""

    op_id: str
    category: str
    preferred_device: str | None
    supported_devices: tuple[str, ...]
    cost_weight: float | None
    estimated_ms: float | None
    """Median latency x cost weight / sum of weights; None when the op has no cost weight."""
    share: float | None
    """The op's share of the estimated latency (its weight over the sum of weights)."""


@dataclass(frozen=True, slots=True)
class CategoryTiming:
    category: str
    ops: int
    """Ops of this category that the compute plan lists."""
    estimated_ms: float
    share: float
    devices: Mapping[str, int]
    """Op count per preferred device ("unknown" when the plan reports none)."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the model the cost weights cover; the attribution is only as good as this."""

    runtime_ops: int
    """Ops of the profiled functions that run during a prediction (all but const and constexpr_* ops)."""
    runtime_ops_with_cost: int
    share: float | None
    """runtime_ops_with_cost / runtime_ops; None for a model without runtime ops."""
    weight_sum: float
    """Raw sum of the cost weights used for normalizing; Core ML does not promise that it is 1."""
    ops_without_cost: tuple[str, ...]
    """Runtime ops without a cost weight, in program order (the plan may list them or not)."""
    ops_not_in_plan: tuple[str, ...]
    """Runtime ops the compute plan does not list at all."""
    plan_ops_not_in_model: tuple[str, ...]
    """Op ids of the compute plan that the model does not have; they are left out of the attribution."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """Per-op, per-category and per-device latency of one compute-unit run, estimated from the compute plan."""

    compute_units: str
    predict_ms: Stats
    ops: Mapping[str, OpTiming]
    """Every op the compute plan lists and the model has, in program order."""
    categories: Mapping[str, CategoryTiming]
    """Categories in report order, only those with ops in the plan."""
    devices: Mapping[str, float]
    """Estimated milliseconds per preferred device."""
    coverage: Coverage
    warnings: tuple[str, ...] = ()
    label: str = ESTIMATE_LABEL

    @property
    def median_ms(self) -> float:
        return self.predict_ms.median


def usable_runs(profile: Profile) -> list[Run]:
    """Return the runs that measured prediction latency, in recorded order."""
    return [run for run in profile.runs if run.predict_ms is not None]


def select_run(profile: Profile, compute_units: str | None = None) -> Run:
    """Return the run for `compute_units`, or by default the "all" run, else the first usable one.

    Raises RunNotFoundError naming the profile file when the run is missing or
    measured no prediction latency.
    """
    usable = usable_runs(profile)
    usable_names = ", ".join(run.compute_units for run in usable) or "none"
    if compute_units is not None:
        run = profile.run(compute_units)
        if run is None:
            recorded = ", ".join(r.compute_units for r in profile.runs)
            raise RunNotFoundError(
                profile.source,
                f"no run for compute units {compute_units!r}; the profile has: {recorded}",
            )
        if run.predict_ms is None:
            raise RunNotFoundError(
                profile.source,
                f"the run for compute units {compute_units!r} failed ({run.error_text()}); "
                f"runs with latency: {usable_names}",
            )
        return run

    if not usable:
        failures = "; ".join(f"{run.compute_units}: {run.error_text()}" for run in profile.runs)
        raise RunNotFoundError(profile.source, f"no run measured prediction latency ({failures})")
    return next((run for run in usable if run.compute_units == "all"), usable[0])


def attribute(
    profile: Profile, analysis: ModelAnalysis, compute_units: str | None = None
) -> Attribution:
    """Estimate each op's latency in one run of `profile` from its cost weight; see the module docstring.

    `compute_units` picks the run ("all", "cpu_and_ne", "cpu_and_gpu",
    "cpu_only"); by default "all" when it succeeded. The profile must belong
    to the analyzed model (load_profile checks that).
    """
    run = select_run(profile, compute_units)
    assert run.predict_ms is not None
    warnings = list(run.warnings)
    if not run.ops:
        plan_errors = "; ".join(e.message for e in run.errors if e.stage == "compute_plan")
        warnings.append(
            f"no compute plan for compute units {run.compute_units!r}"
            + (f" ({plan_errors})" if plan_errors else "")
            + ", so no op has a device or an estimated latency"
        )

    functions = _profiled_functions(profile, analysis, run)
    model_ops = [a.op for a in analysis.ops if a.op.function in functions]
    model_ids = {op.id for op in model_ops}
    planned = [op for op in model_ops if op.id in run.ops]
    weight_sum = math.fsum(w for op in planned if (w := run.ops[op.id].cost_weight) is not None)
    if run.ops and weight_sum <= 0:
        warnings.append(
            f"no op has a positive cost weight in the compute plan for {run.compute_units!r}"
        )

    median = run.predict_ms.median
    timings: dict[str, OpTiming] = {}
    for op in planned:
        placement = run.ops[op.id]
        share = None
        if placement.cost_weight is not None and weight_sum > 0:
            share = placement.cost_weight / weight_sum
        timings[op.id] = OpTiming(
            op_id=op.id,
            category=op.category,
            preferred_device=placement.preferred_device,
            supported_devices=placement.supported_devices,
            cost_weight=placement.cost_weight,
            estimated_ms=None if share is None else median * share,
            share=share,
        )

    runtime = [op for op in model_ops if op.category not in _LOAD_TIME_CATEGORIES]
    without_cost = tuple(
        op.id for op in runtime if op.id not in timings or timings[op.id].estimated_ms is None
    )
    coverage = Coverage(
        runtime_ops=len(runtime),
        runtime_ops_with_cost=len(runtime) - len(without_cost),
        share=(len(runtime) - len(without_cost)) / len(runtime) if runtime else None,
        weight_sum=weight_sum,
        ops_without_cost=without_cost,
        ops_not_in_plan=tuple(op.id for op in runtime if op.id not in run.ops),
        plan_ops_not_in_model=tuple(op_id for op_id in run.ops if op_id not in model_ids),
    )
    if coverage.plan_ops_not_in_model:
        warnings.append(
            f"{len(coverage.plan_ops_not_in_model)} ops of the compute plan are not in the model "
            f"(first: {coverage.plan_ops_not_in_model[0]}); they are left out"
        )

    return Attribution(
        compute_units=run.compute_units,
        predict_ms=run.predict_ms,
        ops=timings,
        categories=_categories(timings.values()),
        devices=_devices(timings.values()),
        coverage=coverage,
        warnings=tuple(warnings),
    )


def _profiled_functions(profile: Profile, analysis: ModelAnalysis, run: Run) -> set[str]:
    """Return the functions whose ops the predictions ran: the recorded one, or all of a pipeline's."""
    names = {a.op.function for a in analysis.ops}
    if profile.model.function is not None and profile.model.function in names:
        return {profile.model.function}
    planned = {a.op.function for a in analysis.ops if a.op.id in run.ops}
    return planned or names


def _categories(timings: Iterable[OpTiming]) -> dict[str, CategoryTiming]:
    ops: Counter[str] = Counter()
    milliseconds: dict[str, float] = {}
    shares: dict[str, float] = {}
    devices: dict[str, Counter[str]] = {}
    for timing in timings:
        ops[timing.category] += 1
        milliseconds[timing.category] = milliseconds.get(timing.category, 0.0) + (
            timing.estimated_ms or 0.0
        )
        shares[timing.category] = shares.get(timing.category, 0.0) + (timing.share or 0.0)
        devices.setdefault(timing.category, Counter())[
            timing.preferred_device or UNKNOWN_DEVICE
        ] += 1
    return {
        category: CategoryTiming(
            category=category,
            ops=ops[category],
            estimated_ms=milliseconds[category],
            share=shares[category],
            devices=dict(devices[category].most_common()),
        )
        for category in cat.CATEGORIES
        if ops[category]
    }


def _devices(timings: Iterable[OpTiming]) -> dict[str, float]:
    milliseconds: dict[str, float] = {}
    for timing in timings:
        if timing.estimated_ms is not None:
            device = timing.preferred_device or UNKNOWN_DEVICE
            milliseconds[device] = milliseconds.get(device, 0.0) + timing.estimated_ms
    return dict(sorted(milliseconds.items(), key=lambda item: -item[1]))
