"""MIL dtype names and sizes."""

from __future__ import annotations

import math

# MIL's DataType enum values (MIL.proto in coremltools 9.0) to the dtype names
# coremltools uses in MIL text ("fp16", "int8", "uint4").
MIL_DTYPES = {
    1: "bool",
    2: "string",
    10: "fp16",
    11: "fp32",
    12: "fp64",
    13: "bf16",
    21: "int8",
    22: "int16",
    23: "int32",
    24: "int64",
    25: "int4",
    31: "uint8",
    32: "uint16",
    33: "uint32",
    34: "uint64",
    35: "uint4",
    36: "uint2",
    37: "uint1",
    38: "uint6",
    39: "uint3",
    40: "fp8e4m3fn",
    41: "fp8e5m2",
}

_BITS = {
    "bool": 8, "fp16": 16, "fp32": 32, "fp64": 64, "bf16": 16,
    "int8": 8, "int16": 16, "int32": 32, "int64": 64, "int4": 4,
    "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64,
    "uint4": 4, "uint2": 2, "uint1": 1, "uint6": 6, "uint3": 3,
    "fp8e4m3fn": 8, "fp8e5m2": 8,
}

# ArrayFeatureType.ArrayDataType of the model description.
ARRAY_DTYPES = {65568: "fp32", 65600: "fp64", 131104: "int32", 131080: "int8", 65552: "fp16"}


def bits(dtype: str) -> int | None:
    """Return the width of one element of `dtype` in bits, or None for strings and unknown names."""
    return _BITS.get(dtype)


def packed_nbytes(dtype: str | None, shape: tuple | None) -> int | None:
    """Return the bytes a tensor of this dtype and fixed shape occupies when packed; None if not fixed."""
    if dtype is None or shape is None or bits(dtype) is None:
        return None
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        return None
    # Integer arithmetic: a float division loses precision above 2**53 and
    # overflows on the huge products a damaged shape can declare.
    return (math.prod(shape) * bits(dtype) + 7) // 8
