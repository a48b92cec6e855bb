"""Prediction inputs for recording: generated from the model description, or read from an .npz file."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlinspect.profile.errors import RecordingError
from mlinspect.reader.dtypes import ARRAY_DTYPES
from mlinspect.reader.package import locate
from mlinspect.reader.proto import model_pb2

_NUMPY_DTYPES = {
    "fp32": np.float32,
    "fp16": np.float16,
    "fp64": np.float64,
    "int32": np.int32,
    "int8": np.int8,
}
# ImageFeatureType.ColorSpace values (FeatureTypes.proto) to PIL image modes.
_IMAGE_MODES = {10: "L", 20: "RGB", 30: "RGB", 40: "F"}


@dataclass(frozen=True, slots=True)
class InputSet:
    """Input values by feature name, and which of them Core ML expects as images."""

    values: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)
    """Input name to PIL image mode ("RGB", "L", "F"); the adapter turns those arrays into images."""
    source: str = "generated"


def generate_inputs(
    model_path: str | os.PathLike[str], function: str | None, seed: int = 0
) -> InputSet:
    """Make one input value per feature of `function`'s description, at the default shape of flexible inputs.

    Multi-arrays get random values of their dtype, images random pixels as a
    uint8 (or float32 for grayscale fp16) array, scalars a fixed value.
    States are not inputs: the adapter makes them with `make_state`.
    """
    generator = np.random.default_rng(seed)
    values: dict[str, Any] = {}
    images: dict[str, str] = {}
    for feature in _input_descriptions(model_path, function):
        kind = feature.type.WhichOneof("Type")
        if kind == "multiArrayType":
            values[feature.name] = _array(feature.name, feature.type.multiArrayType, generator)
        elif kind == "imageType":
            values[feature.name], images[feature.name] = _image(
                feature.name, feature.type.imageType, generator
            )
        elif kind == "int64Type":
            values[feature.name] = 1
        elif kind == "doubleType":
            values[feature.name] = 0.5
        elif kind == "stringType":
            values[feature.name] = "mlinspect"
        else:
            raise RecordingError(
                f"input {feature.name!r} has feature type {kind}, for which mlinspect generates no value"
            )
    return InputSet(values=values, images=images)


def read_inputs(
    path: str | os.PathLike[str], model_path: str | os.PathLike[str], function: str | None
) -> InputSet:
    """Read one array per input name from an .npz file; every input of the description must be there."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            values = {name: archive[name] for name in archive.files}
    except FileNotFoundError as error:
        raise RecordingError(f"{path}: inputs file not found") from error
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise RecordingError(
            f"{path}: not a readable .npz file of input arrays ({error})"
        ) from error

    images: dict[str, str] = {}
    expected = []
    for feature in _input_descriptions(model_path, function):
        expected.append(feature.name)
        if feature.type.WhichOneof("Type") == "imageType":
            images[feature.name] = _IMAGE_MODES.get(feature.type.imageType.colorSpace, "RGB")
    missing = [name for name in expected if name not in values]
    if missing:
        raise RecordingError(
            f"{path}: input {missing[0]!r} missing; the model takes: {', '.join(expected)}"
        )
    return InputSet(
        values={name: values[name] for name in expected}, images=images, source=Path(path).name
    )


def _input_descriptions(model_path: str | os.PathLike[str], function: str | None) -> list[Any]:
    spec = model_pb2().Model()
    spec.ParseFromString(locate(model_path).model_file.read_bytes())
    description = spec.description
    if function is not None and description.functions:
        for described in description.functions:
            if described.name == function:
                return list(described.input)
        names = ", ".join(f.name for f in description.functions)
        raise RecordingError(
            f"{model_path}: function {function!r} not found; the model has: {names}"
        )
    return list(description.input)


def _array(name: str, array: Any, generator: np.random.Generator) -> np.ndarray:
    dtype_name = ARRAY_DTYPES.get(array.dataType)
    dtype = _NUMPY_DTYPES.get(dtype_name or "")
    if dtype is None:
        raise RecordingError(
            f"input {name!r} has multi-array dtype {dtype_name or array.dataType}, which mlinspect cannot generate"
        )

    # The description's shape is the default shape, flexible or not; an
    # empty one falls back to the smallest shape the flexibility allows.
    shape = tuple(int(d) for d in array.shape)
    flexibility = array.WhichOneof("ShapeFlexibility")
    if not shape and flexibility == "shapeRange":
        shape = tuple(max(int(r.lowerBound), 1) for r in array.shapeRange.sizeRanges)
    elif not shape and flexibility == "enumeratedShapes":
        shape = tuple(int(d) for d in array.enumeratedShapes.shapes[0].shape)

    if np.issubdtype(dtype, np.integer):
        return generator.integers(0, 10, size=shape).astype(dtype)
    return generator.standard_normal(shape).astype(dtype)


def _image(name: str, image: Any, generator: np.random.Generator) -> tuple[np.ndarray, str]:
    mode = _IMAGE_MODES.get(image.colorSpace)
    if mode is None:
        raise RecordingError(
            f"input {name!r} has image color space {image.colorSpace}, which mlinspect cannot generate"
        )

    height, width = int(image.height), int(image.width)
    flexibility = image.WhichOneof("SizeFlexibility")
    if (not height or not width) and flexibility == "imageSizeRange":
        height = max(int(image.imageSizeRange.heightRange.lowerBound), 1)
        width = max(int(image.imageSizeRange.widthRange.lowerBound), 1)
    elif (not height or not width) and flexibility == "enumeratedSizes":
        height, width = (
            int(image.enumeratedSizes.sizes[0].height),
            int(image.enumeratedSizes.sizes[0].width),
        )

    if mode == "F":
        return generator.random((height, width), dtype=np.float32), mode
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    return generator.integers(0, 256, size=shape, dtype=np.uint8), mode
