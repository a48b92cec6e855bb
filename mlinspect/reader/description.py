"""Read the model description: inputs, outputs, states, functions and metadata."""

from __future__ import annotations

from typing import Any

from mlinspect.mil.records import Dim, Feature, FunctionDescription
from mlinspect.reader.dtypes import ARRAY_DTYPES

_COLOR_SPACES = {10: "grayscale", 20: "RGB", 30: "BGR", 40: "grayscale_fp16"}


def features(messages: Any) -> tuple[Feature, ...]:
    return tuple(feature(m) for m in messages)


def feature(message: Any) -> Feature:
    """Convert a `FeatureDescription` into a Feature, flexible shapes included."""
    feature_type = message.type
    kind = feature_type.WhichOneof("Type") or "unknown"
    name = message.name
    description = message.shortDescription

    if kind == "multiArrayType":
        return _array_feature(name, "multiArray", feature_type.multiArrayType, description)
    if kind == "stateType":
        return _array_feature(name, "state", feature_type.stateType.arrayType, description)
    if kind == "imageType":
        return _image_feature(name, feature_type.imageType, description)
    dtype = {"int64Type": "int64", "doubleType": "fp64", "stringType": "string"}.get(kind)
    return Feature(name=name, kind=kind.removesuffix("Type"), dtype=dtype, shape=None, description=description)


def _array_feature(name: str, kind: str, array: Any, description: str) -> Feature:
    dtype = ARRAY_DTYPES.get(array.dataType, "unknown")
    # An empty shape means the description leaves it unspecified, not a scalar.
    shape: tuple[Dim, ...] | None = tuple(int(d) for d in array.shape) or None
    flexible = array.WhichOneof("ShapeFlexibility")
    if flexible == "shapeRange":
        ranges = tuple((r.lowerBound, r.upperBound) for r in array.shapeRange.sizeRanges)
        shape = tuple(_range_dim(lower, upper) for lower, upper in ranges)
        return Feature(name, kind, dtype, shape, "range", ranges, description)
    if flexible == "enumeratedShapes":
        shapes = tuple(tuple(int(d) for d in s.shape) for s in array.enumeratedShapes.shapes)
        return Feature(name, kind, dtype, shape, "enumerated", shapes, description)
    return Feature(name, kind, dtype, shape, None, (), description)


def _image_feature(name: str, image: Any, description: str) -> Feature:
    color = _COLOR_SPACES.get(image.colorSpace, "unknown")
    shape: tuple[Dim, ...] = (int(image.height), int(image.width))
    flexible = image.WhichOneof("SizeFlexibility")
    if flexible == "imageSizeRange":
        height, width = image.imageSizeRange.heightRange, image.imageSizeRange.widthRange
        shape = (_range_dim(height.lowerBound, height.upperBound), _range_dim(width.lowerBound, width.upperBound))
        ranges = ((height.lowerBound, height.upperBound), (width.lowerBound, width.upperBound))
        return Feature(name, "image", color, shape, "range", ranges, description)
    if flexible == "enumeratedSizes":
        sizes = tuple((int(s.height), int(s.width)) for s in image.enumeratedSizes.sizes)
        return Feature(name, "image", color, shape, "enumerated", sizes, description)
    return Feature(name, "image", color, shape, None, (), description)


def _range_dim(lower: int, upper: int) -> Dim:
    if lower == upper:
        return int(lower)
    # Core ML writes an unbounded upper limit as -1.
    return f"{lower}..{'inf' if upper < 0 else upper}"


def functions(description: Any) -> tuple[FunctionDescription, ...]:
    return tuple(
        FunctionDescription(
            name=f.name, inputs=features(f.input), outputs=features(f.output), states=features(f.state)
        )
        for f in description.functions
    )


def metadata(description: Any) -> dict[str, str]:
    """Return the metadata as a flat mapping; user-defined keys keep their own names."""
    meta = description.metadata
    result = {
        "shortDescription": meta.shortDescription,
        "versionString": meta.versionString,
        "author": meta.author,
        "license": meta.license,
    }
    result = {key: value for key, value in result.items() if value}
    result.update(sorted(meta.userDefined.items()))
    return result
