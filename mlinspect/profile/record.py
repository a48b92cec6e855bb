"""The profile record: what Core ML reported for one model on one Mac, and its JSON form.

A profile is an overlay keyed by op id (`function/first_output_name`); it never
changes the Operation records of the model it describes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "mlinspect.profile/1"

# Compute-unit settings in the order the recorder runs them; the names are the
# lower-case names of coremltools' ComputeUnit members.
COMPUTE_UNITS = ("all", "cpu_and_ne", "cpu_and_gpu", "cpu_only")
DEVICES = ("cpu", "gpu", "neural_engine")

ESTIMATE_LABEL = "estimated from the compute plan"


@dataclass(frozen=True, slots=True)
class Stats:
    """Latency samples in milliseconds and their summary statistics."""

    samples: tuple[float, ...]
    median: float
    p10: float
    p90: float
    min: float
    max: float
    mean: float

    @classmethod
    def from_samples(cls, samples: Sequence[float]) -> Stats:
        """Summarize `samples`; percentiles interpolate linearly between ranks, as numpy's default does."""
        if not samples:
            raise ValueError("no samples to summarize")
        ordered = sorted(float(s) for s in samples)
        return cls(
            samples=tuple(float(s) for s in samples),
            median=percentile(ordered, 50),
            p10=percentile(ordered, 10),
            p90=percentile(ordered, 90),
            min=ordered[0],
            max=ordered[-1],
            mean=math.fsum(ordered) / len(ordered),
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) of sorted values with linear interpolation."""
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True, slots=True)
class OpPlacement:
    """The compute plan's device usage and cost weight of one op under one compute-unit setting."""

    op_id: str
    type: str
    preferred_device: str | None
    """"cpu", "gpu" or "neural_engine"; None when Core ML did not report a device usage."""
    supported_devices: tuple[str, ...]
    cost_weight: float | None
    """The compute plan's estimated share of the prediction's work (0..1); None when not reported."""


@dataclass(frozen=True, slots=True)
class RunError:
    """A step of a compute-unit run that failed, with Core ML's message."""

    stage: str
    """"load", "predict" or "compute_plan"."""
    message: str


@dataclass(frozen=True, slots=True)
class Run:
    """The measurements and compute plan of one compute-unit setting."""

    compute_units: str
    load_ms: Stats | None = None
    predict_ms: Stats | None = None
    ops: Mapping[str, OpPlacement] = field(default_factory=dict)
    errors: tuple[RunError, ...] = ()
    warnings: tuple[str, ...] = ()

    def error_text(self) -> str:
        return "; ".join(f"{e.stage}: {e.message}" for e in self.errors)


@dataclass(frozen=True, slots=True)
class Host:
    """The machine a profile was recorded on."""

    os: str
    os_version: str
    chip: str
    machine: str
    coremltools_version: str
    python_version: str
    compute_devices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """The model a profile belongs to: the path it was recorded from and the model file's SHA-256."""

    path: str
    model_file: str
    """The hashed file, relative to the package folder (or the file name of a single .mlmodel)."""
    sha256: str
    function: str | None
    """The function the predictions ran; None for a pipeline, whose sub-models all run."""


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    iterations: int
    warmup: int
    loads: int
    inputs: str
    """"generated", or the name of the .npz file the inputs came from."""
    clock: str
    """The latency source: "coreml" (durations Core ML reports) or "wall" (host clock)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A recorded profile: host, model identity, compile latency and one Run per compute-unit setting."""

    host: Host
    model: ModelIdentity
    recording: RecordingSettings
    runs: tuple[Run, ...]
    compile_ms: float | None = None
    created: str = ""
    note: str | None = None
    source: str = ""
    """The file the profile was loaded from; empty for a profile made in memory."""

    def run(self, compute_units: str) -> Run | None:
        return next((run for run in self.runs if run.compute_units == compute_units), None)


def stats_record(stats: Stats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "median": stats.median,
        "p10": stats.p10,
        "p90": stats.p90,
        "min": stats.min,
        "max": stats.max,
        "mean": stats.mean,
        "samples": list(stats.samples),
    }


def profile_record(profile: Profile) -> dict[str, Any]:
    """Return the JSON form of a profile, in the key order of the schema."""
    record: dict[str, Any] = {"schema": SCHEMA}
    if profile.note is not None:
        record["note"] = profile.note
    record.update(
        {
            "created": profile.created,
            "host": {
                "os": profile.host.os,
                "os_version": profile.host.os_version,
                "chip": profile.host.chip,
                "machine": profile.host.machine,
                "coremltools_version": profile.host.coremltools_version,
                "python_version": profile.host.python_version,
                "compute_devices": list(profile.host.compute_devices),
            },
            "model": {
                "path": profile.model.path,
                "model_file": profile.model.model_file,
                "sha256": profile.model.sha256,
                "function": profile.model.function,
            },
            "recording": {
                "iterations": profile.recording.iterations,
                "warmup": profile.recording.warmup,
                "loads": profile.recording.loads,
                "inputs": profile.recording.inputs,
                "clock": profile.recording.clock,
            },
            "compile_ms": profile.compile_ms,
            "runs": [_run_record(run) for run in profile.runs],
        }
    )
    return record


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "compute_units": run.compute_units,
        "load_ms": stats_record(run.load_ms),
        "predict_ms": stats_record(run.predict_ms),
        "ops": {
            op_id: {
                "type": op.type,
                "preferred_device": op.preferred_device,
                "supported_devices": list(op.supported_devices),
                "cost_weight": op.cost_weight,
            }
            for op_id, op in run.ops.items()
        },
        "errors": [{"stage": e.stage, "message": e.message} for e in run.errors],
        "warnings": list(run.warnings),
    }


def profile_from_record(record: Mapping[str, Any], source: str = "") -> Profile:
    """Build a Profile from its JSON form; the record must already match the profile schema."""
    host = record["host"]
    model = record["model"]
    recording = record["recording"]
    return Profile(
        host=Host(
            os=host["os"],
            os_version=host["os_version"],
            chip=host["chip"],
            machine=host["machine"],
            coremltools_version=host["coremltools_version"],
            python_version=host["python_version"],
            compute_devices=tuple(host.get("compute_devices", ())),
        ),
        model=ModelIdentity(
            path=model["path"],
            model_file=model["model_file"],
            sha256=model["sha256"],
            function=model["function"],
        ),
        recording=RecordingSettings(
            iterations=recording["iterations"],
            warmup=recording["warmup"],
            loads=recording["loads"],
            inputs=recording["inputs"],
            clock=recording["clock"],
        ),
        runs=tuple(_run_from_record(run) for run in record["runs"]),
        compile_ms=record.get("compile_ms"),
        created=record.get("created", ""),
        note=record.get("note"),
        source=source,
    )


def _run_from_record(record: Mapping[str, Any]) -> Run:
    return Run(
        compute_units=record["compute_units"],
        load_ms=_stats_from_record(record.get("load_ms")),
        predict_ms=_stats_from_record(record.get("predict_ms")),
        ops={
            op_id: OpPlacement(
                op_id=op_id,
                type=op["type"],
                preferred_device=op["preferred_device"],
                supported_devices=tuple(op["supported_devices"]),
                cost_weight=op["cost_weight"],
            )
            for op_id, op in record["ops"].items()
        },
        errors=tuple(
            RunError(stage=e["stage"], message=e["message"]) for e in record.get("errors", ())
        ),
        warnings=tuple(record.get("warnings", ())),
    )


def _stats_from_record(record: Mapping[str, Any] | None) -> Stats | None:
    if record is None:
        return None
    return Stats(
        samples=tuple(float(s) for s in record["samples"]),
        median=float(record["median"]),
        p10=float(record["p10"]),
        p90=float(record["p90"]),
        min=float(record["min"]),
        max=float(record["max"]),
        mean=float(record["mean"]),
    )
