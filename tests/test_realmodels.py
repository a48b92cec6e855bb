"""Reader tests on real Core ML files from public repositories, kept in shared/realmodels beside the repo.

The folder is looked up at `<repo>/../shared/realmodels`, then in the
MLINSPECT_REALMODELS environment variable. The tests skip when neither exists.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import builders
import pytest

from mlinspect.mil.records import Model
from mlinspect.reader import load


def find_realmodels() -> Path | None:
    beside_repo = Path(__file__).resolve().parents[2] / "shared" / "realmodels"
    if beside_repo.is_dir():
        return beside_repo
    from_environment = os.environ.get("MLINSPECT_REALMODELS")
    if from_environment and Path(from_environment).is_dir():
        return Path(from_environment)
    return None


REALMODELS = find_realmodels()
pytestmark = pytest.mark.skipif(
    REALMODELS is None,
    reason="real models not found: expected ../shared/realmodels beside the repo, or set MLINSPECT_REALMODELS",
)

DTLN_PART1 = Path("dtln_aec_128") / "DTLN_AEC_128_Part1.mlpackage"
DTLN_PART2 = Path("dtln_aec_128") / "DTLN_AEC_128_Part2.mlpackage"
MULTIFUNCTION = Path("anemll_multifunction") / "multifunction.mlpackage"
TINYGRAD_INNER_PRODUCT = Path("tinygrad_nn") / "ane_coreml" / "test.mlmodel"
TINYGRAD_ADD = Path("tinygrad_nn") / "extra_accel_ane_1_build" / "test.mlmodel"
PROGRAMS = (DTLN_PART1, DTLN_PART2, MULTIFUNCTION)
ALL_MODELS = (*PROGRAMS, TINYGRAD_INNER_PRODUCT, TINYGRAD_ADD)

# Element bits of the MIL DataType enum members (MIL.proto) that these models store in blobs.
PROTOBUF_ELEMENT_BITS = {"FLOAT16": 16, "FLOAT32": 32, "INT32": 32}


def real(relative: Path) -> Path:
    assert REALMODELS is not None
    return REALMODELS / relative


def protobuf_ops(spec: Any) -> list[tuple[str, str, Any]]:
    """Return (function name, block path, op message) for every op of every function's main block."""
    return [
        (name, block_path, operation)
        for name, function in spec.mlProgram.functions.items()
        for block_path, operation in builders.walk_block(
            function.block_specializations[function.opset], name
        )
    ]


def declared_nbytes(value_type: Any) -> int:
    """Return the packed size of a tensor from its protobuf type: elements x element bits / 8."""
    from coremltools.proto import MIL_pb2

    tensor = value_type.tensorType
    element_bits = PROTOBUF_ELEMENT_BITS[MIL_pb2.DataType.Name(tensor.dataType)]
    elements = math.prod(dimension.constant.size for dimension in tensor.dimensions)
    return math.ceil(elements * element_bits / 8)


def reader_blobs(model: Model) -> dict[int, Any]:
    return {blob.offset: blob for op in model.walk() for blob in op.blobs()}


@pytest.mark.parametrize("relative", PROGRAMS, ids=str)
def test_op_counts_match_protobuf(relative: Path) -> None:
    path = real(relative)
    expected = {
        name: builders.count_op_types(function.block_specializations[function.opset])
        for name, function in builders.read_spec(path).mlProgram.functions.items()
    }

    model = load(path)

    actual = {
        name: Counter(op.type for op in function.walk())
        for name, function in model.program.functions.items()
    }
    assert actual == expected


@pytest.mark.parametrize("relative", PROGRAMS, ids=str)
def test_op_ids_and_block_paths(relative: Path) -> None:
    path = real(relative)
    # Protobuf maps have no fixed order, so functions compare as a mapping; ops keep program order.
    expected: dict[str, list[tuple[str, str]]] = {}
    for name, block_path, operation in protobuf_ops(builders.read_spec(path)):
        expected.setdefault(name, []).append((block_path, f"{name}/{operation.outputs[0].name}"))

    model = load(path)

    actual = {
        name: [(op.block, op.id) for op in function.walk()] for name, function in model.program.functions.items()
    }
    assert actual == expected


@pytest.mark.parametrize("relative", ALL_MODELS, ids=str)
def test_load_leaves_files_unchanged(relative: Path) -> None:
    path = real(relative)
    before = builders.hash_tree(path)

    load(path)

    assert builders.hash_tree(path) == before


def test_dtln_part1_weight_file() -> None:
    model = load(real(DTLN_PART1))

    weight_file = model.weight_files["weights/weight.bin"]
    assert weight_file.size == 1_980_996
    assert weight_file.blob_count == 12
    assert len(reader_blobs(model)) == 12
    assert model.warnings == ()


def test_dtln_part1_blobs_match_weight_file() -> None:
    path = real(DTLN_PART1)
    weight_file = path / builders.WEIGHT_FILE

    model = load(path)

    for offset, blob in reader_blobs(model).items():
        metadata = builders.read_blob_metadata(weight_file, offset)
        assert blob.dtype == metadata["dtype"], f"dtype of blob at {offset}"
        assert blob.nbytes == metadata["nbytes"], f"size of blob at {offset}"
        assert blob.data_offset == metadata["data_offset"], f"data offset of blob at {offset}"


def test_dtln_part1_nested_while_loops() -> None:
    model = load(real(DTLN_PART1))

    loops = [op for op in model.walk() if op.type == "while_loop"]
    nested = [op for op in model.walk() if op.block != "main"]
    assert len(loops) == 2
    assert all(len(loop.blocks) == 2 for loop in loops)
    assert {op.block for op in nested} == {block.path for loop in loops for block in loop.blocks}
    assert {"matmul", "sigmoid", "tanh"} <= {op.type for op in nested}


@pytest.mark.parametrize("relative", [DTLN_PART1, DTLN_PART2], ids=str)
def test_dtln_flexible_inputs(relative: Path) -> None:
    path = real(relative)
    ranges = {
        feature.name: tuple(
            (r.lowerBound, r.upperBound) for r in feature.type.multiArrayType.shapeRange.sizeRanges
        )
        for feature in builders.read_spec(path).description.input
    }

    model = load(path)

    for feature in model.inputs:
        assert feature.flexible == "range", feature.name
        assert feature.shapes == ranges[feature.name], feature.name


def test_dtln_part2_loads_without_weight_file() -> None:
    path = real(DTLN_PART2)

    model = load(path)

    assert len(model.warnings) == 1
    assert "weights/weight.bin" in model.warnings[0]
    assert model.weight_files["weights/weight.bin"].size is None
    assert len(list(model.walk())) == sum(1 for _ in protobuf_ops(builders.read_spec(path)))


def test_dtln_part2_blob_sizes_from_declared_types() -> None:
    path = real(DTLN_PART2)
    expected = {
        value.blobFileValue.offset: declared_nbytes(value.type)
        for _, _, operation in protobuf_ops(builders.read_spec(path))
        for value in builders.blob_values(operation)
    }

    model = load(path)

    blobs = reader_blobs(model)
    assert {offset: blob.nbytes for offset, blob in blobs.items()} == expected
    assert all(blob.declared for blob in blobs.values())
    assert all(blob.dtype == "fp32" for blob in blobs.values())


def test_multifunction_functions() -> None:
    path = real(MULTIFUNCTION)
    default = builders.read_spec(path).description.defaultFunctionName

    model = load(path)

    functions = model.program.functions
    assert set(functions) == {"add_one", "mul_two"}
    assert model.default_function == default
    assert [name for name, function in functions.items() if function.is_default] == [default]


def test_multifunction_ops_per_function() -> None:
    model = load(real(MULTIFUNCTION))

    functions = model.program.functions
    assert "add" in {op.type for op in functions["add_one"].walk()}
    assert "mul" in {op.type for op in functions["mul_two"].walk()}
    assert all(op.id.startswith("add_one/") for op in functions["add_one"].walk())
    assert all(op.id.startswith("mul_two/") for op in functions["mul_two"].walk())


def test_multifunction_without_weights() -> None:
    model = load(real(MULTIFUNCTION))

    assert [blob for op in model.walk() for blob in op.blobs()] == []
    assert model.warnings == ()


def test_multifunction_descriptions() -> None:
    model = load(real(MULTIFUNCTION))

    assert {function.name for function in model.functions} == {"add_one", "mul_two"}
    assert all(function.inputs for function in model.functions)


@pytest.mark.parametrize(
    ("relative", "layers"),
    [(TINYGRAD_INNER_PRODUCT, {"innerProduct": 1}), (TINYGRAD_ADD, {"add": 1})],
    ids=["inner_product", "add"],
)
def test_tinygrad_neural_network(relative: Path, layers: dict[str, int]) -> None:
    model = load(real(relative))

    assert model.kind == "neuralNetwork"
    assert model.specification_version == 1
    assert model.layers == layers
    assert model.program is None
    assert list(model.walk()) == []
