"""Chrome trace-event JSON of a profiled model, for Perfetto and chrome://tracing.

The trace uses the JSON object format of the Trace Event Format: complete
("X") events with microsecond `ts` and `dur`, one thread track per device
named by "thread_name" metadata events. Durations are the attributed
latencies, estimated from the compute plan.
"""

from __future__ import annotations

from typing import Any

from mlinspect.analysis.ops import ModelAnalysis
from mlinspect.profile.attribution import UNKNOWN_DEVICE, Attribution
from mlinspect.profile.record import ESTIMATE_LABEL, Profile
from mlinspect.profile.report import METHOD

PROCESS_ID = 1
# Track ids in the order Perfetto lists them.
TRACKS = {"neural_engine": 1, "gpu": 2, "cpu": 3, UNKNOWN_DEVICE: 4}
_TRACK_NAMES = {
    "neural_engine": "Neural Engine",
    "gpu": "GPU",
    "cpu": "CPU",
    UNKNOWN_DEVICE: "no device reported",
}


def chrome_trace(
    analysis: ModelAnalysis, profile: Profile, attribution: Attribution
) -> dict[str, Any]:
    """Return the trace: ops with an estimated latency, laid end to end in program order on their device's track.

    Core ML may run ops of different devices at the same time; the trace
    cannot show that, because the compute plan reports no start times.
    """
    events: list[dict[str, Any]] = []
    used_tracks: set[str] = set()
    timestamp_us = 0.0
    for op_analysis in analysis.ops:
        op = op_analysis.op
        timing = attribution.ops.get(op.id)
        if timing is None or timing.estimated_ms is None:
            continue
        device = timing.preferred_device or UNKNOWN_DEVICE
        used_tracks.add(device)
        duration_us = timing.estimated_ms * 1000.0
        weight = op_analysis.weight
        events.append(
            {
                "name": op.name,
                "cat": op.category,
                "ph": "X",
                "ts": timestamp_us,
                "dur": duration_us,
                "pid": PROCESS_ID,
                "tid": TRACKS[device],
                "args": {
                    "op_id": op.id,
                    "type": op.type,
                    "category": op.category,
                    "function": op.function,
                    "preferred_device": timing.preferred_device,
                    "supported_devices": list(timing.supported_devices),
                    "cost_weight": timing.cost_weight,
                    "estimated_ms": timing.estimated_ms,
                    "outputs": [output.type.describe() for output in op.outputs],
                    "weight_dtype": None if weight is None else weight.dtype,
                    "weight_bytes": op_analysis.weight_bytes,
                    "flops": op_analysis.flops,
                },
            }
        )
        timestamp_us += duration_us

    metadata = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": PROCESS_ID,
            "tid": 0,
            "args": {
                "name": f"{analysis.model.path} ({attribution.compute_units}, {ESTIMATE_LABEL})"
            },
        }
    ]
    for device in sorted(used_tracks, key=TRACKS.__getitem__):
        tid = TRACKS[device]
        metadata.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": PROCESS_ID,
                "tid": tid,
                "args": {"name": _TRACK_NAMES[device]},
            }
        )
        metadata.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": PROCESS_ID,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )

    coverage = attribution.coverage
    return {
        "traceEvents": metadata + events,
        "displayTimeUnit": "ms",
        "otherData": {
            "model": analysis.model.path,
            "profile": profile.source,
            "host": f"{profile.host.chip}, {profile.host.os} {profile.host.os_version}",
            "compute_units": attribution.compute_units,
            "median_ms": attribution.median_ms,
            "estimate": f"{ESTIMATE_LABEL}: {METHOD}; ops laid end to end in program order",
            "coverage": f"{coverage.runtime_ops_with_cost} of {coverage.runtime_ops} runtime ops have a cost weight",
            "ops_without_cost": len(coverage.ops_without_cost),
        },
    }
