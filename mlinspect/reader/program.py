"""Turn an ML program protobuf into Program, Function, Block and Operation records."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlinspect.analysis.categories import category_of
from mlinspect.errors import InvalidModelError
from mlinspect.mil.records import (
    Binding,
    Blob,
    Block,
    Dim,
    Function,
    Literal,
    NamedValue,
    Operation,
    Program,
    ValueType,
    WeightFile,
)
from mlinspect.reader.blobs import BlobFile, GitLfsPointerError
from mlinspect.reader.checks import check_references
from mlinspect.reader.dtypes import MIL_DTYPES, packed_nbytes
from mlinspect.reader.files import MissingFileError, check_path_text
from mlinspect.reader.package import inside

# Immediate values with at most this many elements keep their Python value in
# the records (axes, permutations, scalars); larger ones keep only type and size.
MAX_KEPT_ELEMENTS = 64
MODEL_PATH_PREFIX = "@model_path/"
_UNKNOWN_TYPE = ValueType("tensor")
_STRING_SCALAR = ValueType("tensor", "string", ())
_STRING_SCALAR_KEY = b"\n\x02\x08\x02"  # ValueType{tensorType{dataType: STRING, rank: 0}} serialized
# Core ML keeps sizes as signed 64-bit integers (the model description's
# `repeated int64 shape`), so no tensor it can hold has more elements.
MAX_ELEMENTS = 2**63 - 1
# NOTE: MIL sets no rank limit and Core ML's ops take rank 5 or 6 at most; 64 is
# a guess that keeps the work per value bounded on a hostile file.
MAX_RANK = 64


class WeightFiles:
    """The weight files one model references, opened on first use and bounded by the package root."""

    def __init__(self, model_dir: Path, root: Path, shown_dir: Path) -> None:
        self.model_dir = model_dir
        self.root = root
        self.shown_dir = shown_dir
        self._open: dict[str, BlobFile | None] = {}
        self.warnings: list[str] = []
        self._mismatches: dict[str, list[str]] = {}

    def blob(self, file_name: str, offset: int, declared: ValueType) -> Blob:
        """Return the blob at `offset` in `file_name`, or one sized from its declared type if the file is missing."""
        relative = file_name.removeprefix(MODEL_PATH_PREFIX)
        blob_file = self._file(relative)
        if blob_file is None:
            nbytes = packed_nbytes(declared.dtype, declared.shape) or 0
            return Blob(relative, offset, declared.dtype or "unknown", nbytes, None, declared=True)
        dtype, nbytes, data_offset = blob_file.metadata(offset)
        self._check_declared(relative, offset, dtype, nbytes, declared)
        return Blob(relative, offset, dtype, nbytes, data_offset)

    def _check_declared(self, relative: str, offset: int, dtype: str, nbytes: int, declared: ValueType) -> None:
        """Note a blob whose metadata disagrees with the type the program declares for it."""
        expected = packed_nbytes(declared.dtype, declared.shape)
        if declared.dtype is None or expected is None:
            return
        if dtype != declared.dtype or nbytes != expected:
            self._mismatches.setdefault(relative, []).append(
                f"offset {offset} holds {nbytes} bytes of {dtype} where the program declares "
                f"{declared.describe()} ({expected} bytes)"
            )

    def mismatch_warnings(self) -> list[str]:
        """Return one warning per weight file whose blob metadata disagrees with the declared types."""
        warnings = []
        for relative, notes in self._mismatches.items():
            more = f" and {len(notes) - 1} more" if len(notes) > 1 else ""
            warnings.append(
                f"{self.shown_dir / relative}: {len(notes)} blobs disagree with the program's declared types "
                f"(sizes shown are the file's): {notes[0]}{more}"
            )
        return warnings

    def _file(self, relative: str) -> BlobFile | None:
        if relative in self._open:
            return self._open[relative]

        shown = self.shown_dir / relative
        path = inside(self.model_dir / relative, self.root, self.shown_dir)
        blob_file: BlobFile | None = None
        try:
            blob_file = BlobFile(path, str(shown))
        except MissingFileError:
            self.warnings.append(
                f"{shown}: weight file not found (a clone without Git LFS?); "
                "weight sizes are taken from the declared types"
            )
        except GitLfsPointerError as error:
            self.warnings.append(str(error))
        self._open[relative] = blob_file
        return blob_file

    def summaries(self) -> dict[str, WeightFile]:
        return {
            name: WeightFile(name, None if f is None else f.size, None if f is None else f.blob_count)
            for name, f in self._open.items()
        }

    def close(self) -> None:
        for blob_file in self._open.values():
            if blob_file is not None:
                blob_file.close()


class ProgramReader:
    """Reads one `Program` message into records; op ids are `function/first_output_name`."""

    def __init__(self, model_file: str, weights: WeightFiles, function_prefix: str = "") -> None:
        self.model_file = model_file
        self.weights = weights
        self.function_prefix = function_prefix
        self.warnings: list[str] = []
        """Partial-data notes: references to undefined values, shapes recorded as unknown."""
        self._index = 0
        self._function = ""
        self._unreadable_shapes: list[str] = []
        self._checked_file_names: set[str] = set()
        self._types: dict[bytes, tuple[ValueType, str | None]] = {}
        self._literals: dict[bytes, Literal] = {}
        self._bindings: dict[str, Binding] = {}

    def program(self, message: Any, default_function: str | None) -> Program:
        # Protobuf maps iterate in no fixed order, so every map is read sorted:
        # the default function first, then by name; inputs and attributes by key.
        default = default_function or "main"
        functions = {}
        for name in sorted(message.functions, key=lambda name: (name != default, name)):
            functions[self.function_prefix + name] = self._function_record(name, message.functions[name], default_function)
        attributes = {key: self._literal(message.attributes[key]) for key in sorted(message.attributes)}
        if self._unreadable_shapes:
            count = len(self._unreadable_shapes)
            values = "1 value declares a shape" if count == 1 else f"{count} values declare shapes"
            self.warnings.append(
                f"{self.model_file}: {values} that no Core ML tensor can have, "
                f"e.g. {self._unreadable_shapes[0]}; those shapes are recorded as unknown"
            )
        return Program(version=message.version, functions=functions, attributes=attributes)

    def _function_record(self, name: str, message: Any, default_function: str | None) -> Function:
        self._function = self.function_prefix + name
        self._index = 0
        if not message.block_specializations:
            raise InvalidModelError(self.model_file, f"function {name!r} has no block")

        opset = message.opset
        if opset not in message.block_specializations:
            raise InvalidModelError(
                self.model_file,
                f"function {name!r} names opset {opset!r}, which has no block specialization",
            )
        inputs = tuple(self._named(v) for v in message.inputs)
        specializations = {}
        # The main specialization first, so that op indices follow its program order.
        for block_opset in [opset, *sorted(o for o in message.block_specializations if o != opset)]:
            path = self._function if block_opset == opset else f"{self._function}@{block_opset}"
            block = self._block(message.block_specializations[block_opset], path)
            self.warnings += check_references(block, inputs, path, self.model_file)
            specializations[block_opset] = block

        return Function(
            name=self._function,
            inputs=inputs,
            opset=opset,
            specializations=specializations,
            is_default=name == (default_function or "main"),
        )

    def _block(self, message: Any, path: str) -> Block:
        operations = tuple(self._operation(op, path) for op in message.operations)
        return Block(
            path=path,
            inputs=tuple(self._named(v) for v in message.inputs),
            outputs=tuple(message.outputs),
            operations=operations,
        )

    def _operation(self, message: Any, block_path: str) -> Operation:
        index = self._index
        self._index += 1
        op_type = message.type
        outputs = tuple([self._named(v) for v in message.outputs])
        # Upb maps iterate their items through Python-level mixins, so keys are read
        # and looked up directly. Each op's "name" attribute is distinct, so it
        # skips the literal cache.
        attributes = {}
        message_attributes = message.attributes
        for key in sorted(message_attributes):
            value = message_attributes[key]
            attributes[key] = self._name_literal(value) if key == "name" else self._literal(value)
        if outputs:
            name = outputs[0].name
        else:
            named = attributes.get("name")
            name = named.value if named is not None and isinstance(named.value, str) else f"{op_type}_{index}"
        op_id = f"{self._function}/{name}"

        message_inputs = message.inputs
        inputs = {
            param: tuple([self._binding(binding) for binding in message_inputs[param].arguments])
            for param in sorted(message_inputs)
        }
        blocks = ()
        if message.blocks:
            blocks = tuple(
                self._block(block, f"{block_path}/{name}.{position}") for position, block in enumerate(message.blocks)
            )
        return Operation(
            id=op_id,
            type=op_type,
            function=self._function,
            block=block_path,
            index=index,
            inputs=inputs,
            outputs=outputs,
            attributes=attributes,
            blocks=blocks,
            category=category_of(op_type),
        )

    def _binding(self, message: Any) -> Binding:
        if message.WhichOneof("binding") == "name":
            name = message.name
            binding = self._bindings.get(name)
            if binding is None:
                binding = self._bindings[name] = Binding(name=name)
            return binding
        return Binding(literal=self._literal(message.value))

    def _literal(self, message: Any) -> Literal:
        # Literals repeat (axes, permutations, dtype names, shared blob
        # references) and the records are immutable, so equal messages share
        # one record, as value types do.
        key = message.SerializeToString()
        literal = self._literals.get(key)
        if literal is None:
            literal = self._literals[key] = self._new_literal(message)
        return literal

    def _name_literal(self, message: Any) -> Literal:
        """Convert an op's "name" attribute, a string scalar, taking a shortcut that skips most field reads."""
        strings = message.immediateValue.tensor.strings.values
        if len(strings) == 1 and message.type.SerializeToString() == _STRING_SCALAR_KEY:
            value = strings[0]
            return Literal(type=_STRING_SCALAR, value=value, nbytes=len(value))
        return self._new_literal(message)

    def _new_literal(self, message: Any) -> Literal:
        declared = self._value_type(message.type, None) if message.HasField("type") else _UNKNOWN_TYPE
        which = message.WhichOneof("value")
        if which == "blobFileValue":
            reference = message.blobFileValue
            if reference.fileName not in self._checked_file_names:
                check_path_text(reference.fileName, "weight file name", self.model_file)
                self._checked_file_names.add(reference.fileName)
            blob = self.weights.blob(reference.fileName, reference.offset, declared)
            return Literal(type=declared, nbytes=blob.nbytes, blob=blob)
        if which == "immediateValue":
            value, nbytes = _immediate(message.immediateValue)
            return Literal(type=declared, value=value, nbytes=nbytes)
        return Literal(type=declared)

    def _named(self, message: Any) -> NamedValue:
        name = message.name
        return NamedValue(name, self._value_type(message.type, name))

    def _value_type(self, message: Any, value_name: str | None) -> ValueType:
        """Return the record of a type message; `value_name` names the value (None for a literal) in warnings."""
        # A program repeats a few hundred distinct types over many thousand
        # values, and ValueType records are immutable, so equal type messages
        # share one record: converting a message costs about 15 times as much
        # as serializing it for the lookup.
        key = message.SerializeToString()
        known = self._types.get(key)
        if known is None:
            problems: list[str] = []
            known = (value_type(message, problems), problems[0] if problems else None)
            self._types[key] = known
        result, problem = known
        if problem is not None:
            where = f"function {self._function!r}" if self._function else "the program"
            value = "a literal" if value_name is None else repr(value_name)
            self._unreadable_shapes.append(f"{value} in {where} with {problem}")
        return result


def value_type(message: Any, problems: list[str] | None = None) -> ValueType:
    """Convert a MIL `ValueType` message into a ValueType record.

    A tensor shape of more than MAX_RANK dimensions or MAX_ELEMENTS elements
    becomes unknown (None), and its description is appended to `problems`.
    """
    which = message.WhichOneof("type")
    if which == "tensorType":
        tensor = message.tensorType
        dtype = MIL_DTYPES.get(tensor.dataType, f"dtype{tensor.dataType}")
        if tensor.rank < 0:
            return ValueType("tensor", dtype, None)
        return ValueType("tensor", dtype, _shape(tensor, problems))
    if which == "listType":
        return ValueType("list", elements=(value_type(message.listType.type, problems),))
    if which == "tupleType":
        return ValueType("tuple", elements=tuple(value_type(t, problems) for t in message.tupleType.types))
    if which == "dictionaryType":
        dictionary = message.dictionaryType
        key, value = value_type(dictionary.keyType, problems), value_type(dictionary.valueType, problems)
        return ValueType("dict", elements=(key, value))
    if which == "stateType":
        wrapped = value_type(message.stateType.wrappedType, problems)
        return ValueType("state", wrapped.dtype, wrapped.shape, (wrapped,))
    return _UNKNOWN_TYPE


def _shape(tensor: Any, problems: list[str] | None) -> tuple[Dim, ...] | None:
    # The rank is checked before any dimension is converted, so a hostile
    # million-dimension shape costs one length lookup.
    dimensions = tensor.dimensions
    rank = len(dimensions)
    if rank > MAX_RANK:
        if problems is not None:
            problems.append(f"rank {rank} (mlinspect reads ranks up to {MAX_RANK})")
        return None
    shape = tuple([d.constant.size if d.HasField("constant") else _dim(d) for d in dimensions])
    if math.prod([d for d in shape if d.__class__ is int]) > MAX_ELEMENTS:
        if problems is not None:
            shown = ", ".join(str(d) for d in shape[:4]) + (", ..." if rank > 4 else "")
            problems.append(f"shape [{shown}] of more than 2**63 - 1 elements")
        return None
    return shape


def _dim(message: Any) -> Dim:
    if message.WhichOneof("dimension") == "constant":
        return message.constant.size
    return "*" if message.unknown.variadic else "?"


_ELEMENT_BYTES = {"floats": 4, "ints": 4, "bools": 1, "longInts": 8, "doubles": 8}


def _immediate(message: Any) -> tuple[Any, int]:
    """Return (Python value or None, size in bytes) of an immediate value."""
    which = message.WhichOneof("value")
    if which == "tensor":
        tensor = message.tensor
        kind = tensor.WhichOneof("value")
        if kind is None:
            return None, 0
        field = getattr(tensor, kind)
        if kind == "bytes":
            data = field.values
            return (list(data) if len(data) <= MAX_KEPT_ELEMENTS else None), len(data)
        values = field.values
        count = len(values)
        if kind == "strings":
            kept = list(values) if count <= MAX_KEPT_ELEMENTS else None
            if count == 1:
                kept = values[0]
            return kept, sum(len(v) for v in values)
        kept = None
        if count == 1:
            kept = values[0]
        elif count <= MAX_KEPT_ELEMENTS:
            kept = list(values)
        return kept, count * _ELEMENT_BYTES[kind]
    if which in ("list", "tuple", "dictionary"):
        # NOTE: list, tuple and dictionary immediates are rare in converted
        # models; only their presence is recorded, not their contents.
        return None, 0
    return None, 0
