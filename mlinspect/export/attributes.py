"""Op attributes for the graph exports: strings and numbers only, as GraphML and DOT need."""

from __future__ import annotations

from mlinspect.analysis.ops import OpAnalysis
from mlinspect.profile.attribution import UNKNOWN_DEVICE, OpTiming

# Fill colours per preferred device, from ColorBrewer's qualitative "Pastel1" set.
DEVICE_COLORS = {
    "neural_engine": "#ccebc5",
    "gpu": "#b3cde3",
    "cpu": "#fed9a6",
    UNKNOWN_DEVICE: "#f2f2f2",
}
DEVICE_LABELS = {
    "neural_engine": "Neural Engine",
    "gpu": "GPU",
    "cpu": "CPU",
    UNKNOWN_DEVICE: "no device reported",
}


def node_attributes(analysis: OpAnalysis, timing: OpTiming | None) -> dict[str, str | int | float]:
    """Return an op's attributes; absent values are left out, since GraphML has no null."""
    op = analysis.op
    attributes: dict[str, str | int | float] = {
        "op_id": op.id,
        "name": op.name,
        "type": op.type,
        "category": op.category,
        "function": op.function,
        "block": op.block,
        "index": op.index,
        "outputs": "; ".join(output.type.describe() for output in op.outputs),
        "weight_bytes": analysis.weight_bytes,
    }
    weight = analysis.weight
    if weight is not None:
        attributes["weight_dtype"] = weight.dtype
        attributes["weight_scheme"] = weight.scheme
    if analysis.flops is not None:
        attributes["flops"] = analysis.flops
    if analysis.bytes_moved is not None:
        attributes["bytes_moved"] = analysis.bytes_moved
    if timing is not None:
        attributes["device"] = timing.preferred_device or UNKNOWN_DEVICE
        attributes["supported_devices"] = ",".join(timing.supported_devices)
        if timing.cost_weight is not None:
            attributes["cost_weight"] = float(timing.cost_weight)
        if timing.estimated_ms is not None:
            attributes["estimated_ms"] = float(timing.estimated_ms)
    return attributes
