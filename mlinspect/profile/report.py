"""Plain-data records of a profile and its attribution, for the text views and `--json`."""

from __future__ import annotations

from typing import Any

from mlinspect.profile.attribution import Attribution, OpTiming
from mlinspect.profile.record import ESTIMATE_LABEL, Profile, Stats, stats_record

METHOD = "median prediction latency x op cost weight / sum of cost weights of the ops that have one"


def stats_summary(stats: Stats | None) -> dict[str, Any] | None:
    """Return the statistics of a latency measurement without its samples."""
    record = stats_record(stats)
    if record is None:
        return None
    record["count"] = len(record.pop("samples"))
    return record


def timing_record(timing: OpTiming) -> dict[str, Any]:
    """Return one op's device placement and estimated latency: the `profile` field of an ops row."""
    return {
        "preferred_device": timing.preferred_device,
        "supported_devices": list(timing.supported_devices),
        "cost_weight": timing.cost_weight,
        "estimated_ms": timing.estimated_ms,
        "estimated_share": timing.share,
    }


def attribution_record(attribution: Attribution) -> dict[str, Any]:
    """Return per-category and per-device estimated latency with the coverage that qualifies it."""
    coverage = attribution.coverage
    return {
        "compute_units": attribution.compute_units,
        "estimate": f"{ESTIMATE_LABEL}: {METHOD}",
        "predict_ms": stats_summary(attribution.predict_ms),
        "by_category": [
            {
                "category": timing.category,
                "ops": timing.ops,
                "estimated_ms": timing.estimated_ms,
                "estimated_share": timing.share,
                "devices": dict(timing.devices),
            }
            for timing in attribution.categories.values()
        ],
        "by_device": [
            {"device": device, "estimated_ms": milliseconds}
            for device, milliseconds in attribution.devices.items()
        ],
        "coverage": {
            "runtime_ops": coverage.runtime_ops,
            "runtime_ops_with_cost": coverage.runtime_ops_with_cost,
            "share": coverage.share,
            "weight_sum": coverage.weight_sum,
            "ops_without_cost": list(coverage.ops_without_cost),
            "ops_not_in_plan": list(coverage.ops_not_in_plan),
            "plan_ops_not_in_model": list(coverage.plan_ops_not_in_model),
        },
        "warnings": list(attribution.warnings),
    }


def profile_summary_record(profile: Profile, attribution: Attribution) -> dict[str, Any]:
    """Return the `profile` section of `mlinspect summary --profile`: host, every run, and the attribution."""
    host = profile.host
    return {
        "file": profile.source,
        "note": profile.note,
        "created": profile.created,
        "host": {
            "os": f"{host.os} {host.os_version}".strip(),
            "chip": host.chip,
            "coremltools_version": host.coremltools_version,
            "compute_devices": list(host.compute_devices),
        },
        "recorded_model": profile.model.path,
        "function": profile.model.function,
        "clock": profile.recording.clock,
        "compile_ms": profile.compile_ms,
        "runs": [
            {
                "compute_units": run.compute_units,
                "load_ms": stats_summary(run.load_ms),
                "predict_ms": stats_summary(run.predict_ms),
                "ops_in_plan": len(run.ops),
                "errors": [{"stage": e.stage, "message": e.message} for e in run.errors],
            }
            for run in profile.runs
        ],
        "attribution": attribution_record(attribution),
    }


def placements(attribution: Attribution) -> dict[str, dict[str, Any]]:
    """Return per op id the preferred device (None when not reported) and estimated latency, for the TUI."""
    return {
        op_id: {
            "device": timing.preferred_device,
            "supported_devices": list(timing.supported_devices),
            "cost_weight": timing.cost_weight,
            "estimated_ms": timing.estimated_ms,
        }
        for op_id, timing in attribution.ops.items()
    }


def host_label(profile: Profile, attribution: Attribution) -> str:
    """Return a one-line description of where and how a run was recorded, e.g. "macOS 15.1, Apple M4, all"."""
    host = profile.host
    return f"{host.os} {host.os_version}, {host.chip}, {attribution.compute_units}"
