"""Units of comparison: each op that does work, with the wrapper ops folded into it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import ModelAnalysis, OpAnalysis
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Operation


# Ops that only prepare another op's inputs: constants, load-time weight
# decompression, runtime activation quantization and dtype casts. They are
# folded into the op they feed, so a quantized linear pairs with its FP16 twin.
def is_wrapper(op: Operation) -> bool:
    return op.type in ("const", "quantize", "dequantize", "cast") or op.type.startswith("constexpr_")


@dataclass(slots=True)
class Unit:
    """One op that does work (or a group of them), with the wrapper ops it absorbed."""

    id: str
    """Id of the principal op: the op itself, or the last op of a group."""
    function: str
    type: str
    """Op type, or "attention_pattern" for a matmul, softmax, matmul group."""
    category: str
    ops: list[OpAnalysis]
    """The op, or the group's ops in program order."""
    position: int
    """Position in the function's program order."""
    wrappers: list[OpAnalysis] = field(default_factory=list)

    @property
    def principal(self) -> OpAnalysis:
        return self.ops[-1]

    @property
    def op_ids(self) -> list[str]:
        return [a.id for a in self.ops]

    @property
    def weight_bytes(self) -> int:
        return sum(a.weight_bytes for a in self.ops) + sum(w.weight_bytes for w in self.wrappers)

    @property
    def output_shapes(self) -> tuple:
        return tuple(o.type.shape for o in self.principal.op.outputs)

    @property
    def weight_shape(self) -> tuple | None:
        weight = self.principal.weight
        return None if weight is None else weight.shape

    def is_compute(self) -> bool:
        return self.category in cat.COMPUTE_CATEGORIES


@dataclass(slots=True)
class FunctionUnits:
    name: str
    units: list[Unit]
    index: FunctionIndex
    unattached: list[OpAnalysis]
    """Wrapper ops that feed no op doing work (for example a cast of a model output)."""


def build_units(analysis: ModelAnalysis) -> dict[str, FunctionUnits]:
    """Split each function's ops into units in program order and fold each wrapper into the unit it feeds."""
    by_function: dict[str, list[OpAnalysis]] = {}
    for op_analysis in analysis.ops:
        by_function.setdefault(op_analysis.op.function, []).append(op_analysis)

    result = {}
    for function, op_analyses in by_function.items():
        index = analysis.indexes[function]
        units: list[Unit] = []
        unit_of: dict[str, Unit] = {}
        for op_analysis in op_analyses:
            op = op_analysis.op
            if is_wrapper(op):
                continue
            unit = Unit(op.id, function, op.type, op.category, [op_analysis], position=len(units))
            units.append(unit)
            unit_of[op.id] = unit

        by_id = {a.id: a for a in op_analyses}
        unattached = []
        for op_analysis in op_analyses:
            if not is_wrapper(op_analysis.op):
                continue
            owner = _first_consumer_unit(op_analysis.op, index, unit_of, by_id)
            if owner is None:
                unattached.append(op_analysis)
            else:
                owner.wrappers.append(op_analysis)
        result[function] = FunctionUnits(function, units, index, unattached)
    return result


def _first_consumer_unit(
    op: Operation, index: FunctionIndex, unit_of: dict[str, Unit], by_id: dict[str, OpAnalysis]
) -> Unit | None:
    """Follow consumers through other wrappers to the first op that does work, in program order."""
    frontier = [op]
    seen = {op.id}
    best: Unit | None = None
    while frontier:
        current = frontier.pop()
        for output in current.outputs:
            for consumer, _param in index.consumers.get(output.name, ()):
                if consumer.id in seen:
                    continue
                seen.add(consumer.id)
                unit = unit_of.get(consumer.id)
                if unit is not None:
                    if best is None or unit.position < best.position:
                        best = unit
                elif consumer.id in by_id and is_wrapper(consumer):
                    frontier.append(consumer)
    return best
