"""Static cost of an op: FLOPs and bytes moved, computed from shapes alone."""

from __future__ import annotations

import math

from mlinspect.analysis import categories as cat
from mlinspect.analysis.weights import is_constant_op
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Operation, ValueType
from mlinspect.reader.dtypes import packed_nbytes

# FLOPs per output element for ops whose cost scales with their output size.
# These are conventional counts (a multiply-add is 2), not measurements.
_PER_ELEMENT = {
    cat.ELEMENTWISE: 1,
    cat.ACTIVATION: 1,
    cat.ACTIVATION_QUANT: 2,
    cat.NORMALIZATION: 5,
}
_SOFTMAX_FLOPS = 5


def _shape(value_type: ValueType | None) -> tuple[int, ...] | None:
    """Return a tensor's fixed shape, or None when the type or any dimension is unknown."""
    if value_type is None or value_type.shape is None or not all(isinstance(d, int) for d in value_type.shape):
        return None
    return value_type.shape  # type: ignore[return-value]


def _numel(value_type: ValueType | None) -> int | None:
    shape = _shape(value_type)
    return None if shape is None else math.prod(shape)


def flops(op: Operation, index: FunctionIndex) -> int | None:
    """Return the FLOPs of one op from its shapes, 0 for ops that only move data, None when shapes are unknown."""
    category = op.category
    output = op.outputs[0].type if op.outputs else None
    if category in (cat.CONST, cat.WEIGHT_DECOMPRESSION, cat.DATA_MOVEMENT, cat.CONTROL_FLOW):
        return 0

    if op.type == "linear":
        x, out = _shape(index.input_type(op, "x")), _shape(output)
        if not x or out is None:
            return None
        return 2 * math.prod(out) * x[-1]

    if op.type == "matmul":
        x, out = _shape(index.input_type(op, "x")), _shape(output)
        transposed = _bool_input(op, "transpose_x", index)
        if not x or out is None or (transposed and len(x) < 2):
            return None
        inner = x[-2] if transposed else x[-1]
        return 2 * math.prod(out) * inner

    if op.type in ("conv", "conv_transpose"):
        weight, out, x = _shape(index.input_type(op, "weight")), _shape(output), _shape(index.input_type(op, "x"))
        if not weight or out is None or x is None:
            return None
        if op.type == "conv":
            # weight: [C_out, C_in / groups, *kernel]
            return 2 * math.prod(out) * math.prod(weight[1:])
        # weight: [C_in, C_out / groups, *kernel]; each input element scatters into C_out/groups * kernel outputs
        return 2 * math.prod(x) * math.prod(weight[1:])

    if op.type == "scaled_dot_product_attention":
        q, k, v = (_shape(index.input_type(op, p)) for p in ("query", "key", "value"))
        if q is None or k is None or v is None or min(len(q), len(k), len(v)) < 2:
            return None
        batch = math.prod(q[:-2])
        length, source = q[-2], k[-2]
        scores = batch * length * source
        return 2 * scores * q[-1] + 2 * scores * v[-1] + _SOFTMAX_FLOPS * scores

    if op.type == "softmax":
        count = _numel(output)
        return None if count is None else _SOFTMAX_FLOPS * count

    if category == cat.REDUCTION or category == cat.POOLING:
        count = _numel(index.input_type(op, "x"))
        return count

    if category in _PER_ELEMENT:
        count = _numel(output)
        return None if count is None else _PER_ELEMENT[category] * count
    return None


def bytes_moved(op: Operation, index: FunctionIndex, weight_bytes: int) -> int | None:
    """Return the bytes an op reads and writes: activation inputs and outputs at their dtype, plus its stored weights.

    Constant inputs are counted once, as stored (`weight_bytes`), not at their
    decompressed size. Ops resolved at load time move nothing per prediction.
    """
    if op.category in (cat.CONST, cat.WEIGHT_DECOMPRESSION):
        return 0
    total = weight_bytes
    for _param, name in op.input_names():
        if is_constant_op(index.producers.get(name)):
            continue
        value = index.values.get(name)
        size = None if value is None else packed_nbytes(value.type.dtype, value.type.shape)
        if size is None:
            return None
        total += size
    for output in op.outputs:
        if output.type.kind != "tensor":
            continue
        size = packed_nbytes(output.type.dtype, output.type.shape)
        if size is None:
            return None
        total += size
    return total


def _bool_input(op: Operation, param: str, index: FunctionIndex) -> bool:
    """Return a boolean parameter written into the op or made by a `const` op; False when unset."""
    for binding in op.inputs.get(param, ()):
        literal = index.literal(binding)
        if literal is not None:
            return bool(literal.value)
    return False
