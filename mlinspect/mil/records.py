"""Immutable records of a Core ML model: Program, Function, Block, Operation and their values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

# A dimension is a size, or a string for a size only known at run time: "?" for
# an unknown MIL dimension, "*" for a variadic rank, "lo..hi" for a range.
Dim = int | str


@dataclass(frozen=True, slots=True)
class ValueType:
    """Type of a MIL value: a tensor (the usual case), a list, a tuple, a dict or a state."""

    kind: str
    """One of "tensor", "list", "tuple", "dict", "state"."""
    dtype: str | None = None
    """MIL dtype name such as "fp16", "int8", "uint4"; None for containers."""
    shape: tuple[Dim, ...] | None = None
    """Dimensions of a tensor; None when the rank is unknown."""
    elements: tuple[ValueType, ...] = ()
    """Element types of a list, tuple or dict, or the wrapped type of a state."""

    def describe(self) -> str:
        """Return a compact text form such as `fp16[1, 197, 768]`."""
        if self.kind == "tensor":
            dims = "?" if self.shape is None else ", ".join(str(d) for d in self.shape)
            return f"{self.dtype}[{dims}]"
        inner = ", ".join(e.describe() for e in self.elements)
        return f"{self.kind}<{inner}>"


@dataclass(frozen=True, slots=True)
class NamedValue:
    """A named, typed value: an op output, a function input or a block input."""

    name: str
    type: ValueType


@dataclass(frozen=True, slots=True)
class Blob:
    """One entry of a weight file, located through its 64-byte metadata record."""

    file: str
    """Path of the weight file relative to the model file's folder, e.g. "weights/weight.bin"."""
    offset: int
    """Byte offset of the blob's metadata record, as written in the program."""
    dtype: str
    """Storage dtype from the blob metadata, or the declared dtype when the file is missing."""
    nbytes: int
    """Size of the blob's data in bytes."""
    data_offset: int | None
    """Byte offset of the data; None when the weight file is missing."""
    declared: bool = False
    """True when dtype and size were taken from the program's declared type."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A value written into the program itself (an immediate value) or a reference to a blob."""

    type: ValueType
    value: Any = None
    """Python form of small immediate values (scalars, short lists, strings); None otherwise."""
    nbytes: int = 0
    """Size of the stored data: blob bytes, or the immediate value's bytes in the program."""
    blob: Blob | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    """One argument of an op input: a reference to a named value, or a literal."""

    name: str | None = None
    literal: Literal | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One MIL operation, identified across mlinspect by `function/first_output_name`."""

    id: str
    type: str
    function: str
    block: str
    """Path of the block that contains the op: "main", or for a nested block the parent path, the owning op's name and the block's position, e.g. "main/while_loop_0.1"."""
    index: int
    """Position of the op in program order within its function (nested blocks included)."""
    inputs: Mapping[str, tuple[Binding, ...]]
    outputs: tuple[NamedValue, ...]
    attributes: Mapping[str, Literal]
    blocks: tuple[Block, ...] = ()
    category: str = "other"
    # Derived from `inputs` and `attributes` once, because the analyses read them many times per op.
    _input_names: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _blobs: tuple[Blob, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = []
        blobs = []
        for param, bindings in self.inputs.items():
            for binding in bindings:
                if binding.name is not None:
                    names.append((param, binding.name))
                elif binding.literal is not None and binding.literal.blob is not None:
                    blobs.append(binding.literal.blob)
        blobs += [literal.blob for literal in self.attributes.values() if literal.blob is not None]
        object.__setattr__(self, "_input_names", tuple(names))
        object.__setattr__(self, "_blobs", tuple(blobs))

    @property
    def name(self) -> str:
        """Return the first output's name (the op's name in the compute plan), or the op id."""
        return self.outputs[0].name if self.outputs else self.id.rsplit("/", 1)[-1]

    def input_names(self) -> tuple[tuple[str, str], ...]:
        """Return (parameter, value name) for each input bound to a named value."""
        return self._input_names

    def blobs(self) -> tuple[Blob, ...]:
        """Return the weight-file blobs the op references directly: in inline inputs, then in attributes."""
        return self._blobs


@dataclass(frozen=True, slots=True)
class Block:
    """A MIL block: the body of a function, or a nested body of `cond` or `while_loop`."""

    path: str
    inputs: tuple[NamedValue, ...]
    outputs: tuple[str, ...]
    operations: tuple[Operation, ...]

    def walk(self) -> Iterator[Operation]:
        """Yield every op in program order, descending into nested blocks."""
        for op in self.operations:
            yield op
            for block in op.blocks:
                yield from block.walk()


@dataclass(frozen=True, slots=True)
class Function:
    """A MIL function with its block specialization for each opset."""

    name: str
    inputs: tuple[NamedValue, ...]
    opset: str
    """The opset whose block is the function's body, e.g. "CoreML7" (macOS14/iOS17)."""
    specializations: Mapping[str, Block]
    """Block per opset; a function usually has one, but a program may carry several."""
    is_default: bool = False

    @property
    def block(self) -> Block:
        return self.specializations[self.opset]

    def walk(self) -> Iterator[Operation]:
        """Yield every op of the function's main specialization, nested blocks included."""
        return self.block.walk()


@dataclass(frozen=True, slots=True)
class Program:
    version: int
    functions: Mapping[str, Function]
    attributes: Mapping[str, Literal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Feature:
    """An input, output or state of the model description."""

    name: str
    kind: str
    """Feature type: "multiArray", "image", "int64", "double", "string", "dictionary", "sequence", "state"."""
    dtype: str | None
    shape: tuple[Dim, ...] | None
    flexible: str | None = None
    """"range" or "enumerated" for flexible shapes, None for a fixed shape."""
    shapes: tuple[tuple[Dim, ...], ...] = ()
    """The enumerated shapes, or the (lower, upper) bounds when `flexible` is "range"."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class FunctionDescription:
    """Inputs, outputs and states of one function as listed in the model description."""

    name: str
    inputs: tuple[Feature, ...]
    outputs: tuple[Feature, ...]
    states: tuple[Feature, ...]


@dataclass(frozen=True, slots=True)
class WeightFile:
    """A weight file referenced by the program and what could be read of it."""

    path: str
    """Path relative to the model file's folder."""
    size: int | None
    """Size in bytes on disk; None when the file is missing."""
    blob_count: int | None
    """Blob count from the storage header; None when the file is missing."""


@dataclass(frozen=True, slots=True)
class Model:
    """Everything mlinspect reads from one model file: description, program and weight layout."""

    path: str
    kind: str
    """Model type from the specification: "mlProgram", "pipeline", "neuralNetwork", ..."""
    specification_version: int
    inputs: tuple[Feature, ...]
    outputs: tuple[Feature, ...]
    states: tuple[Feature, ...]
    metadata: Mapping[str, str]
    """Author, license, short description, version and user-defined metadata."""
    program: Program | None = None
    functions: tuple[FunctionDescription, ...] = ()
    default_function: str | None = None
    sub_models: tuple[Model, ...] = ()
    """Sub-models of a pipeline, in order."""
    weight_files: Mapping[str, WeightFile] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """Partial-data notes, such as a missing weight file."""
    layers: Mapping[str, int] = field(default_factory=dict)
    """Layer counts by type for a neural-network model (not an ML program)."""
    _graphs: dict[str, nx.MultiDiGraph] = field(default_factory=dict, repr=False, compare=False)

    def walk(self) -> Iterator[Operation]:
        """Yield every op of every function and sub-model, nested blocks included."""
        if self.program is not None:
            for function in self.program.functions.values():
                yield from function.walk()
        for sub_model in self.sub_models:
            yield from sub_model.walk()

    def programs(self) -> Iterator[Model]:
        """Yield this model and each pipeline sub-model that contains an ML program."""
        if self.program is not None:
            yield self
        for sub_model in self.sub_models:
            yield from sub_model.programs()

    def graph(self, function: str) -> nx.MultiDiGraph:
        """Return the op graph of one function, built on first use."""
        from mlinspect.mil.graph import build_graph

        if function not in self._graphs:
            self._graphs[function] = build_graph(self._function(function))
        return self._graphs[function]

    @property
    def graphs(self) -> dict[str, nx.MultiDiGraph]:
        """Return the op graph of every function, keyed by function name."""
        return {name: self.graph(name) for name in self.function_names()}

    def function_names(self) -> list[str]:
        return [name for model in self.programs() for name in model.program.functions]

    def _function(self, name: str) -> Function:
        for model in self.programs():
            if name in model.program.functions:
                return model.program.functions[name]
        from mlinspect.errors import MlinspectError

        raise MlinspectError(f"function {name!r} not found; functions: {', '.join(self.function_names())}")
