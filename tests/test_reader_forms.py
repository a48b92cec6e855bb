"""Reader tests on every model form, checked against an independent reading of the protobuf and weight files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import builders
import pytest

from mlinspect.mil.records import Blob, Function, Model, Operation
from mlinspect.reader import load

PROGRAM_FORMS = (
    "plain",
    "single_file",
    "single_file_with_blobs",
    "pipeline",
    "multifunction",
    "stateful",
    "range_shape",
    "enumerated_shape",
    "control_flow",
    "specializations",
    *(f"{scheme}_{target}" for scheme, target in builders.COMPRESSED_FORMS),
)
# Forms whose weight files exist, so blob metadata can be read back from them.
WEIGHT_FORMS = (
    "plain",
    "pipeline",
    "multifunction",
    "specializations",
    *(f"{scheme}_{target}" for scheme, target in builders.COMPRESSED_FORMS),
)
ALL_FORMS = (*PROGRAM_FORMS, "neural_network")

# Decompression op each compression scheme produces, by target.
DECOMPRESSION_OPS = {
    ("int8", "iOS16"): {"constexpr_affine_dequantize"},
    ("palettize4", "iOS17"): {"constexpr_lut_to_dense"},
    ("palettize2", "iOS16"): {"constexpr_lut_to_dense"},
    ("prune", "iOS17"): {"constexpr_sparse_to_dense"},
    ("int8", "iOS18"): {"constexpr_blockwise_shift_scale"},
    ("int4_block", "iOS18"): {"constexpr_blockwise_shift_scale"},
    ("palettize4", "iOS18"): {"constexpr_lut_to_dense"},
    ("palettize2", "iOS18"): {"constexpr_lut_to_dense"},
    ("prune", "iOS18"): {"constexpr_sparse_to_dense"},
    ("prune_palettize4", "iOS18"): {"constexpr_lut_to_sparse", "constexpr_sparse_to_dense"},
}


def protobuf_functions(spec: Any) -> dict[str, Any]:
    """Map each function name, as mlinspect names it, to its protobuf `Function` message.

    Pipeline sub-models get the prefix "<index>:" so that their "main"
    functions stay apart.
    """
    if spec.WhichOneof("Type") == "pipeline":
        return {
            f"{index}:{name}": function
            for index, sub_model in enumerate(spec.pipeline.models)
            for name, function in sub_model.mlProgram.functions.items()
        }
    return dict(spec.mlProgram.functions.items())


def model_file(path: Path) -> Path:
    return path / builders.MODEL_FILE if path.is_dir() else path


def functions_of(model: Model) -> dict[str, Function]:
    return {
        name: function
        for program in model.programs()
        for name, function in program.program.functions.items()
    }


def blobs_by_location(model: Model) -> dict[tuple[str, int], Blob]:
    """Map (weight file relative to the model file's folder, metadata offset) to the reader's blob."""
    return {(blob.file, blob.offset): blob for op in model.walk() for blob in op.blobs()}


def op_by_type(model: Model, op_type: str) -> Operation:
    matches = [op for op in model.walk() if op.type == op_type]
    assert len(matches) == 1, f"expected one {op_type} op, found {len(matches)}"
    return matches[0]


@pytest.mark.parametrize("form", PROGRAM_FORMS)
def test_op_counts_match_protobuf(all_forms: dict[str, Path], form: str) -> None:
    path = all_forms[form]
    expected = {
        name: builders.count_op_types(function.block_specializations[function.opset])
        for name, function in protobuf_functions(builders.read_spec(path)).items()
    }

    model = load(path)

    actual = {
        name: Counter(op.type for op in function.walk())
        for name, function in functions_of(model).items()
    }
    assert actual == expected


@pytest.mark.parametrize("form", PROGRAM_FORMS)
def test_op_ids_and_block_paths(all_forms: dict[str, Path], form: str) -> None:
    path = all_forms[form]
    # Protobuf maps have no fixed order, so functions compare as a mapping; ops keep program order.
    expected: dict[str, list[tuple[str, str]]] = {}
    for name, function in protobuf_functions(builders.read_spec(path)).items():
        block = function.block_specializations[function.opset]
        ops = expected.setdefault(name, [])
        for block_path, operation in builders.walk_block(block, name):
            if operation.outputs:
                ops.append((block_path, f"{name}/{operation.outputs[0].name}"))
            else:
                op_name = operation.attributes["name"].immediateValue.tensor.strings.values[0]
                ops.append((block_path, f"{name}/{op_name}"))

    model = load(path)

    actual = {
        name: [(op.block, op.id) for op in function.walk()] for name, function in functions_of(model).items()
    }
    assert actual == expected


@pytest.mark.parametrize("form", PROGRAM_FORMS)
def test_op_ids_unique_per_model(all_forms: dict[str, Path], form: str) -> None:
    model = load(all_forms[form])

    ids = [op.id for op in model.walk()]

    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("form", WEIGHT_FORMS)
def test_blobs_match_weight_file(all_forms: dict[str, Path], form: str) -> None:
    path = all_forms[form]
    model_dir = model_file(path).parent
    references = [
        reference
        for function in protobuf_functions(builders.read_spec(path)).values()
        for reference in builders.blob_references(function.block_specializations[function.opset])
    ]

    model = load(path)

    blobs = blobs_by_location(model)
    assert references, "the built model should reference at least one blob"
    for reference in references:
        relative = reference.fileName.removeprefix("@model_path/")
        metadata = builders.read_blob_metadata(model_dir / relative, reference.offset)
        blob = blobs[(relative, reference.offset)]
        assert metadata["sentinel"] == builders.BLOB_SENTINEL
        assert blob.dtype == metadata["dtype"], f"dtype of blob at {relative}:{reference.offset}"
        assert blob.nbytes == metadata["nbytes"], f"size of blob at {relative}:{reference.offset}"
        assert blob.data_offset == metadata["data_offset"], (
            f"data offset of blob at {relative}:{reference.offset}"
        )
        assert blob.declared is False


@pytest.mark.parametrize("form", WEIGHT_FORMS)
def test_weight_files_match_header(all_forms: dict[str, Path], form: str) -> None:
    path = all_forms[form]
    weights_dir = model_file(path).parent / "weights"
    expected = {
        f"weights/{file.name}": (file.stat().st_size, builders.read_blob_count(file))
        for file in weights_dir.iterdir()
    }

    model = load(path)

    actual = {name: (info.size, info.blob_count) for name, info in model.weight_files.items()}
    assert actual == expected


@pytest.mark.parametrize("form", ALL_FORMS)
def test_load_leaves_files_unchanged(all_forms: dict[str, Path], form: str) -> None:
    path = all_forms[form]
    before = builders.hash_tree(path)

    load(path)

    assert builders.hash_tree(path) == before


def test_plain_program_structure(plain_package: Path) -> None:
    model = load(plain_package)

    function = model.program.functions["main"]
    linear = op_by_type(model, "linear")
    weight_name = next(binding.name for binding in linear.inputs["weight"])
    assert model.kind == "mlProgram"
    assert model.specification_version == 7
    assert function.opset == "CoreML6"
    assert function.is_default is True
    assert linear.category == "matmul"
    assert linear.outputs[0].type.describe() == "fp16[1, 16]"
    assert weight_name == "lin_weight_0_to_fp16"
    assert model.warnings == ()


def test_plain_weight_blob_sizes(plain_package: Path) -> None:
    model = load(plain_package)

    blobs = {op.name: blob for op in model.walk() for blob in op.blobs()}
    assert blobs["lin_weight_0_to_fp16"].dtype == "fp16"
    assert blobs["lin_weight_0_to_fp16"].nbytes == 16 * 16 * 2
    assert blobs["lin_bias_0_to_fp16"].nbytes == 16 * 2


def test_single_file_immediate_consts(single_file_model: Path) -> None:
    model = load(single_file_model)

    weight = next(op for op in model.walk() if op.name == "lin_weight_0")
    value = weight.attributes["val"]
    assert model.kind == "mlProgram"
    assert value.blob is None
    assert value.value == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert value.nbytes == 8 * 4
    assert value.type.describe() == "fp32[2, 4]"
    assert model.weight_files == {}
    assert model.warnings == ()


def test_single_file_blobs_without_weight_file(single_file_with_blobs: Path) -> None:
    model = load(single_file_with_blobs)

    blobs = {op.name: blob for op in model.walk() for blob in op.blobs()}
    weight = blobs["lin_weight_0_to_fp16"]
    assert len(model.warnings) == 1
    assert "weights/weight.bin" in model.warnings[0]
    assert weight.declared is True
    assert weight.data_offset is None
    assert weight.dtype == "fp16"
    assert weight.nbytes == 16 * 16 * 2
    assert model.weight_files["weights/weight.bin"].size is None


def test_pipeline_sub_models(pipeline_package: Path) -> None:
    model = load(pipeline_package)

    assert model.kind == "pipeline"
    assert [sub.kind for sub in model.sub_models] == ["mlProgram", "mlProgram"]
    assert model.program is None
    assert model.function_names() == ["0:main", "1:main"]
    assert [feature.name for feature in model.inputs] == ["x"]
    assert [feature.name for feature in model.outputs] == ["second_relu"]
    assert set(model.weight_files) == {"weights/0-weight.bin", "weights/1-weight.bin"}


def test_pipeline_linear_per_sub_model(pipeline_package: Path) -> None:
    model = load(pipeline_package)

    linear_ids = [op.id for op in model.walk() if op.type == "linear"]
    assert linear_ids == ["0:main/first_cast_fp16", "1:main/second_cast_fp16"]


def test_multifunction_names_and_default(multifunction_package: Path) -> None:
    model = load(multifunction_package)

    functions = model.program.functions
    assert set(functions) == {"encode", "decode"}
    assert model.default_function == "decode"
    assert functions["decode"].is_default is True
    assert functions["encode"].is_default is False
    assert model.specification_version == 9


def test_multifunction_descriptions(multifunction_package: Path) -> None:
    model = load(multifunction_package)

    descriptions = {function.name: function for function in model.functions}
    assert set(descriptions) == {"encode", "decode"}
    assert [feature.name for feature in descriptions["encode"].inputs] == ["x"]
    assert [feature.name for feature in descriptions["encode"].outputs] == ["enc_relu"]
    assert [feature.name for feature in descriptions["decode"].outputs] == ["dec_relu"]


def test_multifunction_ops_per_function(multifunction_package: Path) -> None:
    model = load(multifunction_package)

    linear_ids = {op.id for op in model.walk() if op.type == "linear"}
    assert linear_ids == {"encode/enc_cast_fp16", "decode/dec_cast_fp16"}


def test_stateful_state_feature(stateful_package: Path) -> None:
    model = load(stateful_package)

    assert [feature.name for feature in model.states] == ["accumulator"]
    assert model.states[0].kind == "state"
    assert model.states[0].dtype == "fp16"
    assert model.states[0].shape == (1, 4)
    assert [feature.name for feature in model.inputs] == ["x"]


def test_stateful_function_inputs(stateful_package: Path) -> None:
    model = load(stateful_package)

    inputs = {value.name: value.type for value in model.program.functions["main"].inputs}
    assert inputs["accumulator"].kind == "state"
    assert inputs["accumulator"].dtype == "fp16"
    assert inputs["accumulator"].shape == (1, 4)
    assert inputs["x"].kind == "tensor"


def test_stateful_state_ops(stateful_package: Path) -> None:
    model = load(stateful_package)

    types = Counter(op.type for op in model.walk())
    write = op_by_type(model, "write_state")
    assert types["read_state"] == 2
    assert write.outputs == ()
    assert write.id == "main/coreml_update_state_0_write_state"
    assert [binding.name for binding in write.inputs["input"]] == ["accumulator"]


def test_range_shape_input(range_shape_package: Path) -> None:
    model = load(range_shape_package)

    feature = model.inputs[0]
    assert feature.flexible == "range"
    assert feature.shape == (1, "1..16")
    assert feature.shapes == ((1, 1), (1, 16))


def test_enumerated_shape_input(enumerated_shape_package: Path) -> None:
    model = load(enumerated_shape_package)

    feature = model.inputs[0]
    assert feature.flexible == "enumerated"
    assert set(feature.shapes) == {(1, 2), (1, 4), (1, 8)}
    assert feature.shape in feature.shapes


@pytest.mark.parametrize("form", ["range_shape", "enumerated_shape"])
def test_flexible_function_input_unknown_dim(all_forms: dict[str, Path], form: str) -> None:
    model = load(all_forms[form])

    function_input = model.program.functions["main"].inputs[0]
    assert function_input.type.shape == (1, "?")


def test_control_flow_nested_blocks(control_flow_package: Path) -> None:
    model = load(control_flow_package)

    branch = op_by_type(model, "cond")
    loop = op_by_type(model, "while_loop")
    assert len(branch.blocks) == 2
    assert len(loop.blocks) == 2
    assert [block.path for block in branch.blocks] == ["main/branch.0", "main/branch.1"]
    assert [block.path for block in loop.blocks] == ["main/loop_0.0", "main/loop_0.1"]
    assert loop.category == "control_flow"


def test_control_flow_nested_op_paths(control_flow_package: Path) -> None:
    model = load(control_flow_package)

    assert op_by_type(model, "relu").block == "main/branch.0"
    assert op_by_type(model, "sigmoid").block == "main/branch.1"
    assert op_by_type(model, "less").block == "main/loop_0.0"
    assert op_by_type(model, "mul").block == "main/loop_0.1"
    assert op_by_type(model, "mul").id == "main/loop_double_cast_fp16"


def test_control_flow_loop_block_inputs(control_flow_package: Path) -> None:
    model = load(control_flow_package)

    body = op_by_type(model, "while_loop").blocks[1]
    assert len(body.inputs) == 2
    assert body.outputs == ("loop_next", "loop_double_cast_fp16_to_fp32")


def test_specializations_both_present(specializations_package: Path) -> None:
    model = load(specializations_package)

    function = model.program.functions["main"]
    assert set(function.specializations) == {"CoreML7", "CoreML8"}
    assert function.opset == "CoreML7"
    assert function.block is function.specializations["CoreML7"]


def test_specializations_read_own_blocks(specializations_package: Path) -> None:
    spec = builders.read_spec(specializations_package)
    expected = {
        opset: builders.count_op_types(block)
        for opset, block in spec.mlProgram.functions["main"].block_specializations.items()
    }

    model = load(specializations_package)

    specializations = model.program.functions["main"].specializations
    actual = {
        opset: Counter(op.type for op in block.walk()) for opset, block in specializations.items()
    }
    assert actual == expected
    assert actual["CoreML8"]["sigmoid"] == 1
    assert actual["CoreML8"]["relu"] == 0


def test_specializations_main_walk_only(specializations_package: Path) -> None:
    model = load(specializations_package)

    types = Counter(op.type for op in model.walk())
    assert types["relu"] == 1
    assert types["sigmoid"] == 0


@pytest.mark.parametrize(("scheme", "target"), builders.COMPRESSED_FORMS)
def test_compressed_decompression_ops(
    compressed_packages: dict[tuple[str, str], Path], scheme: str, target: str
) -> None:
    model = load(compressed_packages[(scheme, target)])

    constexpr_ops = [op for op in model.walk() if op.type.startswith("constexpr_")]
    assert {op.type for op in constexpr_ops} == DECOMPRESSION_OPS[(scheme, target)]
    assert {op.category for op in constexpr_ops} == {"weight_decompression"}


@pytest.mark.parametrize(("scheme", "target"), builders.COMPRESSED_FORMS)
def test_compressed_blob_placement(
    compressed_packages: dict[tuple[str, str], Path], scheme: str, target: str
) -> None:
    """Before iOS18, constexpr ops reference blobs in attributes. From iOS18 on, they do so in inline inputs."""
    model = load(compressed_packages[(scheme, target)])

    constexpr_ops = [op for op in model.walk() if op.type.startswith("constexpr_")]
    in_inputs = [
        binding.literal.blob
        for op in constexpr_ops
        for bindings in op.inputs.values()
        for binding in bindings
        if binding.literal is not None and binding.literal.blob is not None
    ]
    in_attributes = [
        literal.blob for op in constexpr_ops for literal in op.attributes.values() if literal.blob
    ]
    if target == "iOS18":
        assert in_inputs
        assert not in_attributes
    else:
        assert in_attributes
        assert not in_inputs


def test_int4_block_storage_dtype(compressed_packages: dict[tuple[str, str], Path]) -> None:
    model = load(compressed_packages[("int4_block", "iOS18")])

    quantized = op_by_type(model, "constexpr_blockwise_shift_scale")
    data = quantized.inputs["data"][0].literal
    assert data.type.dtype == "int4"
    assert data.blob.dtype == "int4"
    assert data.blob.nbytes == 32 * 32 // 2


def test_palettize2_storage_dtype(compressed_packages: dict[tuple[str, str], Path]) -> None:
    model = load(compressed_packages[("palettize2", "iOS18")])

    palettized = op_by_type(model, "constexpr_lut_to_dense")
    indices = palettized.inputs["indices"][0].literal
    assert indices.type.dtype == "uint2"
    assert indices.blob.nbytes == 32 * 32 // 4


def test_prune_mask_storage_dtype(compressed_packages: dict[tuple[str, str], Path]) -> None:
    model = load(compressed_packages[("prune", "iOS18")])

    sparse = op_by_type(model, "constexpr_sparse_to_dense")
    mask = sparse.inputs["mask"][0].literal
    assert mask.type.dtype == "uint1"
    assert mask.blob.nbytes == 32 * 32 // 8


def test_joint_compression_op_chain(compressed_packages: dict[tuple[str, str], Path]) -> None:
    model = load(compressed_packages[("prune_palettize4", "iOS18")])

    producer = op_by_type(model, "constexpr_lut_to_sparse")
    consumer = op_by_type(model, "constexpr_sparse_to_dense")
    consumed = {name for _, name in consumer.input_names()}
    assert len(producer.outputs) == 2
    assert consumed == {output.name for output in producer.outputs}


def test_neural_network_layers(neural_network_model: Path) -> None:
    model = load(neural_network_model)

    assert model.kind == "neuralNetwork"
    assert model.layers == {"innerProduct": 1, "activation": 1}
    assert model.program is None
    assert list(model.walk()) == []


@pytest.mark.parametrize(("code", "dtype"), [(16, "fp8e4m3fn"), (17, "fp8e5m2")])
def test_blob_fp8_dtype_codes(plain_package: Path, tmp_path: Path, code: int, dtype: str) -> None:
    """MILBlob's BlobDataType enum defines codes 16 and 17 for fp8 blobs.

    coremltools 9.0's blob writer has no fp8 method, so the test rewrites a code in place.
    """
    package = tmp_path / "fp8.mlpackage"
    shutil.copytree(plain_package, package)
    weight_file = package / builders.WEIGHT_FILE
    data = bytearray(weight_file.read_bytes())
    # The first blob's metadata record starts at byte 64; its dtype code is bytes 68 to 71.
    data[68:72] = code.to_bytes(4, "little")
    weight_file.write_bytes(bytes(data))

    model = load(package)

    assert blobs_by_location(model)[("weights/weight.bin", 64)].dtype == dtype


def test_load_skips_coremltools_import(plain_package: Path) -> None:
    """The reader loads coremltools' generated protobuf modules without importing the slow package."""
    script = (
        "import sys\n"
        "from mlinspect.reader import load\n"
        f"load({str(plain_package)!r})\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'coremltools'))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
