"""Activation quantization: whether each activation input of a compute op arrives through a dequantize."""

from __future__ import annotations

from dataclasses import dataclass

from mlinspect.analysis.weights import WeightTracer
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Operation

# Ops that only rearrange data: a dequantized tensor stays quantized in
# effect when it passes through them, so the trace continues to their input.
LAYOUT_OPS = {
    "reshape": ("x",),
    "transpose": ("x",),
    "slice_by_index": ("x",),
    "slice_by_size": ("x",),
    "squeeze": ("x",),
    "expand_dims": ("x",),
    "identity": ("x",),
    "split": ("x",),
    "concat": ("values",),
}
# Inputs of compute ops that are not activations to quantize.
NOT_ACTIVATIONS = frozenset({"bias", "attn_mask", "transpose_x", "transpose_y", "strides", "pad", "pad_type", "dilations", "groups", "output_shape", "equation"})


@dataclass(frozen=True, slots=True)
class InputQuantization:
    """Whether one activation input of a compute op is quantized, and where that was found."""

    param: str
    value: str
    quantized: bool
    dtype: str | None = None
    """Dtype of the quantized tensor before `dequantize`, e.g. "int8" or "uint8"."""
    dequantize: str | None = None
    """Id of the dequantize op the trace reached."""


def activation_inputs(op: Operation, tracer: WeightTracer) -> list[tuple[str, str]]:
    """Return (parameter, value name) of each input that is computed at run time, not made from constants."""
    inputs = []
    for param, name in op.input_names():
        if param in NOT_ACTIVATIONS:
            continue
        if tracer.storage(name) is not None:
            continue
        inputs.append((param, name))
    return inputs


def input_quantization(param: str, name: str, index: FunctionIndex) -> InputQuantization:
    """Trace `name` back through layout ops; quantized when every path reaches a `dequantize`."""
    found = _trace(name, index, depth=0, seen=set())
    if found is None:
        return InputQuantization(param, name, quantized=False)
    dtype, op_id = found
    return InputQuantization(param, name, quantized=True, dtype=dtype, dequantize=op_id)


_MAX_DEPTH = 32


def _trace(name: str, index: FunctionIndex, depth: int, seen: set[str]) -> tuple[str | None, str] | None:
    if depth > _MAX_DEPTH or name in seen:
        return None
    seen.add(name)
    producer = index.producers.get(name)
    if producer is None:
        return None
    if producer.type == "dequantize":
        source = index.values.get(next((n for p, n in producer.input_names() if p == "input"), ""), None)
        dtype = source.type.dtype if source is not None else None
        return dtype, producer.id
    params = LAYOUT_OPS.get(producer.type)
    if params is None:
        return None

    results = [
        _trace(inner, index, depth + 1, seen)
        for param, inner in producer.input_names()
        if param in params
    ]
    if not results or any(result is None for result in results):
        return None
    return results[0]
