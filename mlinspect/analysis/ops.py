"""Per-op analysis: weight storage, activation quantization and static cost of every op of a model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlinspect.analysis import categories as cat
from mlinspect.analysis.cost import bytes_moved, flops
from mlinspect.analysis.quantization import InputQuantization, activation_inputs, input_quantization
from mlinspect.analysis.weights import NO_SCHEME, WeightStorage, WeightTracer, is_constant_op
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Blob, Model, Operation


@dataclass(frozen=True, slots=True)
class OpAnalysis:
    """Derived data of one op, keyed like everything else by the op id."""

    op: Operation
    constants: tuple[tuple[str, WeightStorage], ...]
    """(parameter, storage) of each input made from constants, e.g. ("weight", ...), ("bias", ...)."""
    weight_bytes: int
    """Stored bytes attributed to this op: each blob counts once, for its first consumer in program order."""
    claimed: tuple[tuple[Blob, str], ...]
    """(blob, compression scheme) of each blob attributed to this op."""
    activations: tuple[InputQuantization, ...]
    """Quantization of each activation input; filled for compute ops (matmul, attention, conv) only."""
    index: FunctionIndex = field(repr=False, compare=False)
    _cost: tuple[int | None, int | None] | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.op.id

    @property
    def flops(self) -> int | None:
        return self._static_cost()[0]

    @property
    def bytes_moved(self) -> int | None:
        return self._static_cost()[1]

    def _static_cost(self) -> tuple[int | None, int | None]:
        # Computed on first use, because a summary shows no op's cost.
        if self._cost is None:
            cost = (flops(self.op, self.index), bytes_moved(self.op, self.index, self.weight_bytes))
            object.__setattr__(self, "_cost", cost)
        return self._cost  # type: ignore[return-value]

    @property
    def weight(self) -> WeightStorage | None:
        """Return the largest numeric constant input that lives in a weight file or takes at least 64 bytes.

        That is the weight proper, not its bias, and not a small literal such as
        a reshape's target shape or a cast's dtype name.
        """
        candidates = [
            storage
            for _, storage in self.constants
            if storage.dtype not in ("string", "bool") and (storage.blobs or storage.nbytes >= 64)
        ]
        return max(candidates, key=lambda storage: storage.nbytes, default=None)

    @property
    def activations_quantized(self) -> bool:
        return bool(self.activations) and all(a.quantized for a in self.activations)


@dataclass(frozen=True, slots=True)
class ModelAnalysis:
    model: Model
    ops: tuple[OpAnalysis, ...]
    """Every op of every function in program order, constants included."""
    indexes: dict[str, FunctionIndex]

    def by_id(self) -> dict[str, OpAnalysis]:
        return {analysis.id: analysis for analysis in self.ops}

    def compute_ops(self) -> Iterator[OpAnalysis]:
        return (a for a in self.ops if a.op.category in cat.COMPUTE_CATEGORIES)


def analyze(model: Model) -> ModelAnalysis:
    """Analyze every function of `model` (and of its pipeline sub-models)."""
    results: list[OpAnalysis] = []
    indexes: dict[str, FunctionIndex] = {}
    for program_model in model.programs():
        for function in program_model.program.functions.values():
            index = FunctionIndex.build(function)
            indexes[function.name] = index
            results.extend(_analyze_function(index))
    return ModelAnalysis(model=model, ops=tuple(results), indexes=indexes)


def _analyze_function(index: FunctionIndex) -> list[OpAnalysis]:
    tracer = WeightTracer(index)
    claimed: set[tuple[str, int]] = set()
    results = []
    for op in index.ops:
        constants = []
        mine: list[tuple[Blob, str]] = []
        if is_constant_op(op):
            # A constant counts for itself only when nothing consumes it (an output or dead value).
            for output in op.outputs:
                if index.consumers.get(output.name):
                    continue
                storage = tracer.storage(output.name)
                if storage is not None:
                    mine += _claim(storage, claimed)
        else:
            for param, name in op.input_names():
                storage = tracer.storage(name)
                if storage is None:
                    continue
                constants.append((param, storage))
                mine += _claim(storage, claimed)
            mine += [(blob, NO_SCHEME) for blob in op.blobs() if _take(blob, claimed)]
        weight_bytes = sum(blob.nbytes for blob, _ in mine)

        activations: tuple[InputQuantization, ...] = ()
        if op.category in cat.COMPUTE_CATEGORIES:
            activations = tuple(
                input_quantization(param, name, index) for param, name in activation_inputs(op, tracer)
            )
        results.append(
            OpAnalysis(
                op=op,
                constants=tuple(constants),
                weight_bytes=weight_bytes,
                claimed=tuple(mine),
                activations=activations,
                index=index,
            )
        )
    return results


def _claim(storage: WeightStorage, claimed: set[tuple[str, int]]) -> list[tuple[Blob, str]]:
    return [(blob, storage.scheme) for blob in storage.blobs if _take(blob, claimed)]


def _take(blob: Blob, claimed: set[tuple[str, int]]) -> bool:
    key = (blob.file, blob.offset)
    if key in claimed:
        return False
    claimed.add(key)
    return True


def unique_blobs(model: Model) -> dict[tuple[str, int], Blob]:
    """Return every blob the model references once, keyed by (weight file, metadata offset)."""
    blobs: dict[tuple[str, int], Blob] = {}
    for op in model.walk():
        for blob in op.blobs():
            blobs.setdefault((blob.file, blob.offset), blob)
    return blobs


def physical_claims(analysis: ModelAnalysis) -> Iterator[tuple[OpAnalysis, Blob, str]]:
    """Yield (op, blob, scheme) once per distinct blob, for the first op in program order that claims it.

    Each function claims its blobs separately, so a blob shared by the
    functions of a multifunction program counts once here.
    """
    seen: set[tuple[str, int]] = set()
    for op_analysis in analysis.ops:
        for blob, scheme in op_analysis.claimed:
            key = (blob.file, blob.offset)
            if key not in seen:
                seen.add(key)
                yield op_analysis, blob, scheme


def physical_weight_bytes(analysis: ModelAnalysis) -> dict[str, int]:
    """Return the stored bytes of each op id that claims blobs, each distinct blob counted once (see `physical_claims`)."""
    totals: dict[str, int] = {}
    for op_analysis, blob, _scheme in physical_claims(analysis):
        totals[op_analysis.id] = totals.get(op_analysis.id, 0) + blob.nbytes
    return totals


def storage_record(storage: WeightStorage | None) -> dict[str, Any] | None:
    if storage is None:
        return None
    return {
        "dtype": storage.dtype,
        "scheme": storage.scheme,
        "bytes": storage.nbytes,
        "shape": None if storage.shape is None else list(storage.shape),
    }


def op_record(analysis: OpAnalysis) -> dict[str, Any]:
    """Return one op's analysis as plain data: the row of `mlinspect ops --json`."""
    op = analysis.op
    return {
        "id": op.id,
        "type": op.type,
        "category": op.category,
        "function": op.function,
        "block": op.block,
        "index": op.index,
        "outputs": [{"name": o.name, "type": o.type.describe()} for o in op.outputs],
        "weight": storage_record(analysis.weight),
        "weight_bytes": analysis.weight_bytes,
        "activations": [
            {"param": a.param, "value": a.value, "quantized": a.quantized, "dtype": a.dtype, "dequantize": a.dequantize}
            for a in analysis.activations
        ],
        "flops": analysis.flops,
        "bytes_moved": analysis.bytes_moved,
    }
