"""Turn an ML program protobuf into Program, Function, Block and Operation records."""

from __future__ import annotations

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
from mlinspect.reader.blobs import BlobFile
from mlinspect.reader.dtypes import MIL_DTYPES, packed_nbytes
from mlinspect.reader.package import inside

# Immediate values with at most this many elements keep their Python value in
# the records (axes, permutations, scalars); larger ones keep only type and size.
MAX_KEPT_ELEMENTS = 64
MODEL_PATH_PREFIX = "@model_path/"
_UNKNOWN_TYPE = ValueType("tensor")


class WeightFiles:
    """The weight files one model references, opened on first use and bounded by the package root."""

    def __init__(self, model_dir: Path, root: Path, shown_dir: Path) -> None:
        self.model_dir = model_dir
        self.root = root
        self.shown_dir = shown_dir
        self._open: dict[str, BlobFile | None] = {}
        self.warnings: list[str] = []

    def blob(self, file_name: str, offset: int, declared: ValueType) -> Blob:
        """Return the blob at `offset` in `file_name`, or one sized from its declared type if the file is missing."""
        relative = file_name.removeprefix(MODEL_PATH_PREFIX)
        blob_file = self._file(relative)
        if blob_file is None:
            nbytes = packed_nbytes(declared.dtype, declared.shape) or 0
            return Blob(relative, offset, declared.dtype or "unknown", nbytes, None, declared=True)
        dtype, nbytes, data_offset = blob_file.metadata(offset)
        return Blob(relative, offset, dtype, nbytes, data_offset)

    def _file(self, relative: str) -> BlobFile | None:
        if relative in self._open:
            return self._open[relative]

        shown = self.shown_dir / relative
        path = inside(self.model_dir / relative, self.root, self.shown_dir)
        blob_file: BlobFile | None = None
        if not path.exists():
            self.warnings.append(
                f"{shown}: weight file not found (a clone without Git LFS?); "
                "weight sizes are taken from the declared types"
            )
        elif path.is_dir():
            raise InvalidModelError(shown, "is a folder, expected a weight file")
        else:
            blob_file = BlobFile(path, str(shown))
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
        self._index = 0
        self._function = ""

    def program(self, message: Any, default_function: str | None) -> Program:
        # Protobuf maps iterate in no fixed order, so every map is read sorted:
        # the default function first, then by name; inputs and attributes by key.
        default = default_function or "main"
        functions = {}
        for name in sorted(message.functions, key=lambda name: (name != default, name)):
            functions[self.function_prefix + name] = self._function_record(name, message.functions[name], default_function)
        attributes = {key: self._literal(message.attributes[key]) for key in sorted(message.attributes)}
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
        specializations = {}
        # The main specialization first, so that op indices follow its program order.
        for block_opset in [opset, *sorted(o for o in message.block_specializations if o != opset)]:
            path = self._function if block_opset == opset else f"{self._function}@{block_opset}"
            specializations[block_opset] = self._block(message.block_specializations[block_opset], path)

        return Function(
            name=self._function,
            inputs=tuple(self._named(v) for v in message.inputs),
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
        outputs = tuple(self._named(v) for v in message.outputs)
        attributes = {key: self._literal(message.attributes[key]) for key in sorted(message.attributes)}
        if outputs:
            name = outputs[0].name
        else:
            named = attributes.get("name")
            name = named.value if named is not None and isinstance(named.value, str) else f"{message.type}_{index}"
        op_id = f"{self._function}/{name}"

        inputs = {
            param: tuple(self._binding(binding) for binding in message.inputs[param].arguments)
            for param in sorted(message.inputs)
        }
        blocks = tuple(
            self._block(block, f"{block_path}/{name}.{position}") for position, block in enumerate(message.blocks)
        )
        return Operation(
            id=op_id,
            type=message.type,
            function=self._function,
            block=block_path,
            index=index,
            inputs=inputs,
            outputs=outputs,
            attributes=attributes,
            blocks=blocks,
            category=category_of(message.type),
        )

    def _binding(self, message: Any) -> Binding:
        if message.WhichOneof("binding") == "name":
            return Binding(name=message.name)
        return Binding(literal=self._literal(message.value))

    def _literal(self, message: Any) -> Literal:
        declared = value_type(message.type) if message.HasField("type") else _UNKNOWN_TYPE
        which = message.WhichOneof("value")
        if which == "blobFileValue":
            reference = message.blobFileValue
            blob = self.weights.blob(reference.fileName, reference.offset, declared)
            return Literal(type=declared, nbytes=blob.nbytes, blob=blob)
        if which == "immediateValue":
            value, nbytes = _immediate(message.immediateValue)
            return Literal(type=declared, value=value, nbytes=nbytes)
        return Literal(type=declared)

    def _named(self, message: Any) -> NamedValue:
        return NamedValue(message.name, value_type(message.type))


def value_type(message: Any) -> ValueType:
    """Convert a MIL `ValueType` message into a ValueType record."""
    which = message.WhichOneof("type")
    if which == "tensorType":
        tensor = message.tensorType
        dtype = MIL_DTYPES.get(tensor.dataType, f"dtype{tensor.dataType}")
        if tensor.rank < 0:
            return ValueType("tensor", dtype, None)
        return ValueType("tensor", dtype, tuple(_dim(d) for d in tensor.dimensions))
    if which == "listType":
        return ValueType("list", elements=(value_type(message.listType.type),))
    if which == "tupleType":
        return ValueType("tuple", elements=tuple(value_type(t) for t in message.tupleType.types))
    if which == "dictionaryType":
        dictionary = message.dictionaryType
        return ValueType("dict", elements=(value_type(dictionary.keyType), value_type(dictionary.valueType)))
    if which == "stateType":
        wrapped = value_type(message.stateType.wrappedType)
        return ValueType("state", wrapped.dtype, wrapped.shape, (wrapped,))
    return _UNKNOWN_TYPE


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
