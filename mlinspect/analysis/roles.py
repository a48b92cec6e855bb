"""Roles of linear ops in a transformer: attention input projection, attention output projection."""

from __future__ import annotations

from mlinspect.analysis.quantization import LAYOUT_OPS
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Operation

ATTENTION_IN = "attention_in_projection"
ATTENTION_OUT = "attention_out_projection"
_ATTENTION_OPS = frozenset({"matmul", "scaled_dot_product_attention"})
# Ops allowed between a projection and the attention: layout changes, scaling of the query, casts, quantization.
_PASS_THROUGH = frozenset(LAYOUT_OPS) | {"mul", "real_div", "cast", "quantize", "dequantize", "add"}
_MAX_HOPS = 8


def linear_role(op: Operation, index: FunctionIndex) -> str | None:
    """Return the attention role of a linear (or matmul with a constant weight) op, or None for other roles.

    An input projection's output reaches a matmul or fused attention op
    through layout ops only. An output projection's activation input comes
    from such an op, again through layout ops only. A linear whose output is added to another linear's
    bias path or feeds an MLP has neither role.
    """
    if _reaches_attention(op, index):
        return ATTENTION_IN
    if _comes_from_attention(op, index):
        return ATTENTION_OUT
    return None


def _reaches_attention(op: Operation, index: FunctionIndex) -> bool:
    frontier = [(op, 0)]
    seen = {op.id}
    while frontier:
        current, hops = frontier.pop()
        for output in current.outputs:
            for consumer, _param in index.consumers.get(output.name, ()):
                if consumer.id in seen:
                    continue
                seen.add(consumer.id)
                if consumer.type in _ATTENTION_OPS:
                    return True
                if consumer.type in _PASS_THROUGH and consumer.type != "add" and hops < _MAX_HOPS:
                    frontier.append((consumer, hops + 1))
    return False


def _comes_from_attention(op: Operation, index: FunctionIndex) -> bool:
    names = [name for param, name in op.input_names() if param == "x"]
    seen: set[str] = set()
    for _ in range(_MAX_HOPS):
        if not names or names[0] in seen:
            return False
        seen.add(names[0])
        producer = index.producers.get(names[0])
        if producer is None:
            return False
        if producer.type in _ATTENTION_OPS:
            return True
        if producer.type not in _PASS_THROUGH or producer.type in ("add", "mul", "real_div"):
            return False
        names = [name for param, name in producer.input_names() if param in ("x", "input", "values")]
    return False
