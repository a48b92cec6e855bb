"""Weight storage: what each op's constant inputs cost on disk, by dtype and compression scheme."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Blob, Literal, Operation
from mlinspect.reader.dtypes import bits

# Compression scheme written by each weight-decompression op type (opsets iOS16 to iOS18).
SCHEMES = {
    "constexpr_affine_dequantize": "affine",
    "constexpr_blockwise_shift_scale": "blockwise_shift_scale",
    "constexpr_lut_to_dense": "lut",
    "constexpr_sparse_to_dense": "sparse",
    "constexpr_cast": "cast",
    "constexpr_sparse_blockwise_shift_scale": "sparse+blockwise_shift_scale",
    "constexpr_lut_to_sparse": "lut+sparse",
}
NO_SCHEME = "none"
FLOAT_DTYPES = frozenset({"fp16", "fp32", "fp64", "bf16"})


@dataclass(frozen=True, slots=True)
class WeightStorage:
    """Storage of one constant value: its data dtype, compression scheme and every stored byte."""

    dtype: str
    """Storage dtype of the largest stored piece, e.g. "int8" for int8 weights with fp16 scales."""
    scheme: str
    """"none", "affine", "blockwise_shift_scale", "lut_4bit", "sparse", "cast", or several joined by "+"."""
    nbytes: int
    """Bytes of all pieces: data, scales, zero points, lookup tables, masks."""
    shape: tuple | None
    """Shape of the dense value the op receives at run time."""
    blobs: tuple[Blob, ...]
    inline_bytes: int
    """Bytes stored as immediate values in the program rather than in a weight file."""
    producers: tuple[str, ...]
    """Ids of the const and constexpr ops that make the value, outermost first."""

    @property
    def quantized(self) -> bool:
        return self.dtype not in FLOAT_DTYPES


def is_constant_op(op: Operation | None) -> bool:
    return op is not None and (op.type == "const" or op.type.startswith("constexpr_"))


class WeightTracer:
    """Follows a value back through const and constexpr ops of one function, memoizing each value."""

    def __init__(self, index: FunctionIndex) -> None:
        self.index = index
        self._cache: dict[str, WeightStorage | None] = {}

    def storage(self, name: str) -> WeightStorage | None:
        """Return the storage of value `name`, or None when it is not made from constants alone."""
        if name not in self._cache:
            self._cache[name] = self._trace(name)
        return self._cache[name]

    def _trace(self, name: str) -> WeightStorage | None:
        op = self.index.producers.get(name)
        if not is_constant_op(op):
            return None

        output = next((o for o in op.outputs if o.name == name), op.outputs[0])
        if op.type == "const" and not op.inputs and op.attributes.keys() == {"name", "val"}:
            # The common case, a plain const: one stored piece, no scheme.
            literal = op.attributes["val"]
            blob = literal.blob
            return WeightStorage(
                dtype=blob.dtype if blob else literal.type.dtype or "unknown",
                scheme=NO_SCHEME,
                nbytes=literal.nbytes,
                shape=output.type.shape,
                blobs=(blob,) if blob else (),
                inline_bytes=0 if blob else literal.nbytes,
                producers=(op.id,),
            )

        pieces: list[tuple[str, int, Blob | None]] = []
        schemes: list[str] = []
        producers: list[str] = []
        self._collect(op, pieces, schemes, producers, seen=set())
        if not pieces:
            return None
        dtype = max(pieces, key=lambda piece: piece[1])[0]
        blobs = tuple(blob for _, _, blob in pieces if blob is not None)
        inline = sum(nbytes for _, nbytes, blob in pieces if blob is None)
        return WeightStorage(
            dtype=dtype,
            scheme="+".join(dict.fromkeys(schemes)) or NO_SCHEME,
            nbytes=sum(nbytes for _, nbytes, _ in pieces),
            shape=output.type.shape,
            blobs=blobs,
            inline_bytes=inline,
            producers=tuple(producers),
        )

    def _collect(
        self,
        op: Operation,
        pieces: list[tuple[str, int, Blob | None]],
        schemes: list[str],
        producers: list[str],
        seen: set[str],
    ) -> None:
        if op.id in seen:
            return
        seen.add(op.id)
        producers.append(op.id)
        if op.type != "const":
            scheme = SCHEMES.get(op.type, op.type.removeprefix("constexpr_"))
            if "lut" in scheme:
                scheme = scheme.replace("lut", f"lut_{_lut_bits(op, self.index)}bit")
            schemes.append(scheme)

        for key, literal in _stored_literals(op):
            if key == "name":
                continue
            pieces.append((literal.blob.dtype if literal.blob else literal.type.dtype or "unknown", literal.nbytes, literal.blob))
        for _param, value_name in op.input_names():
            inner = self.index.producers.get(value_name)
            if is_constant_op(inner):
                self._collect(inner, pieces, schemes, producers, seen)


def _stored_literals(op: Operation) -> Iterable[tuple[str, Literal]]:
    for param, bindings in op.inputs.items():
        for binding in bindings:
            if binding.literal is not None:
                yield param, binding.literal
    yield from op.attributes.items()


def _lut_bits(op: Operation, index: FunctionIndex) -> int | str:
    """Return the palette index width of a LUT op.

    iOS16's constexpr_lut_to_dense keeps the LUT as an attribute of shape
    (2**bits,) and packs indices into uint8; iOS18's takes `indices` of dtype
    uintN as an input.
    """
    if "lut" in op.attributes:
        size = (op.attributes["lut"].type.shape or (0,))[-1]
        return int(math.log2(size)) if isinstance(size, int) and size > 0 else "?"
    indices = index.input_type(op, "indices")
    if indices is not None and indices.dtype is not None:
        return bits(indices.dtype) or "?"
    return "?"
