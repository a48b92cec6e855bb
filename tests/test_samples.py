"""The ViT samples: op counts and weight bytes against an independent walk of the files, and the motivating sizes."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from vit_truth import REPO, vit_dirs, vit_package

VARIANTS = (
    "fp16_macos14",
    "w8a8_torch_macos14",
    "w8a8_coreml_uncalibrated_macos14",
    "w8_coreml_macos14",
    "fp16_macos15",
    "palettized4_macos15",
    "pruned50_macos15",
)
SIZES = [pytest.param(size, folder, id=size) for size, folder in vit_dirs()]
BLOB_DTYPES = {1: "fp16", 2: "fp32", 3: "uint8", 4: "int8", 5: "bf16", 6: "int16", 7: "uint16", 8: "int4",
               9: "uint1", 10: "uint2", 11: "uint4", 12: "uint3", 13: "uint6", 14: "int32", 15: "uint32"}
SUMMARY_SCHEMA = json.loads((REPO / "mlinspect" / "schemas" / "summary.schema.json").read_text())


def _summary(path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "mlinspect", "summary", "--json", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def _walk_protobuf(path: Path) -> tuple[Counter, set[int]]:
    """Count op types through nested blocks and collect blob offsets, reading the protobuf directly."""
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString((path / "Data" / "com.apple.CoreML" / "model.mlmodel").read_bytes())
    counts: Counter = Counter()
    offsets: set[int] = set()

    def visit_value(value) -> None:
        if value.WhichOneof("value") == "blobFileValue":
            offsets.add(value.blobFileValue.offset)

    def visit_block(block) -> None:
        for op in block.operations:
            counts[op.type] += 1
            for value in op.attributes.values():
                visit_value(value)
            for argument in op.inputs.values():
                for binding in argument.arguments:
                    if binding.WhichOneof("binding") == "value":
                        visit_value(binding.value)
            for inner in op.blocks:
                visit_block(inner)

    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            visit_block(block)
    return counts, offsets


def _blob_bytes_by_dtype(path: Path, offsets: set[int]) -> Counter:
    data = (path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").read_bytes()
    by_dtype: Counter = Counter()
    for offset in offsets:
        sentinel, code, size = struct.unpack_from("<IIQ", data, offset)
        assert sentinel == 0xDEADBEEF
        by_dtype[BLOB_DTYPES[code]] += size
    return by_dtype


@pytest.mark.parametrize(("size", "folder"), SIZES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_summary_matches_independent_walk(size, folder, variant):
    path = vit_package(folder, size, variant)
    counts, offsets = _walk_protobuf(path)

    summary = _summary(path)

    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert summary["ops"]["by_type"] == dict(counts)
    assert summary["weights"]["by_dtype"] == dict(_blob_bytes_by_dtype(path, offsets))
    assert summary["weights"]["blobs"] == len(offsets)


def _within(value: float, expected: float, tolerance: float = 0.02) -> bool:
    return abs(value - expected) <= tolerance * expected


@pytest.mark.skipif(not any(size == "base" for size, _ in vit_dirs()), reason="MLINSPECT_VIT_B16_DIR is not set")
def test_vit_b16_sizes_reproduce_motivating_case():
    folder = dict(vit_dirs())["base"]
    fp16 = _summary(vit_package(folder, "base", "fp16_macos14"))["weights"]
    torch_path = _summary(vit_package(folder, "base", "w8a8_torch_macos14"))
    coreml_path = _summary(vit_package(folder, "base", "w8a8_coreml_uncalibrated_macos14"))["weights"]

    linear = next(g for g in torch_path["quantization"] if g["op_type"] == "linear")

    assert _within(fp16["total_bytes"], 173e6)
    assert _within(torch_path["weights"]["total_bytes"], 115e6)
    assert _within(torch_path["weights"]["by_dtype"]["fp16"], 57e6)
    assert _within(coreml_path["total_bytes"], 87e6)
    assert linear["total"] == 49
    assert linear["weights_by_dtype"] == {"int8": 25, "fp16": 24}
    assert linear["activations_by_dtype"] == {"int8": 25, "none": 24}


def test_torch_path_summary_text_states_coverage():
    path = vit_package(REPO / "samples", "tiny", "w8a8_torch_macos14")

    result = subprocess.run([sys.executable, "-m", "mlinspect", "summary", str(path)], capture_output=True, text=True)

    assert result.returncode == 0
    assert "linear: 5 of 9 with int8 weights, 4 of 9 with fp16 weights, 5 of 9 with int8 activations" in result.stdout
