"""mlinspect diff on the ViT samples: pairing against an independent ground truth, findings, checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import mlinspect
from mlinspect.comparison.compare import compare, to_json
from vit_truth import REPO, attention_layers, linear_roles, vit_dirs, vit_package

DIFF_SCHEMA = json.loads((REPO / "mlinspect" / "schemas" / "diff.schema.json").read_text())
SIZES = [pytest.param(size, folder, id=size) for size, folder in vit_dirs()]
W8A8_CORE = "w8a8_coreml_uncalibrated_macos14" if sys.platform != "darwin" else "w8a8_coreml_macos14"


def _diff(folder: Path, size: str, variant_a: str, variant_b: str) -> dict:
    a = vit_package(folder, size, variant_a)
    b = vit_package(folder, size, variant_b)
    return to_json(compare(mlinspect.load(a), mlinspect.load(b)))


def _pairs_by_a(document: dict) -> dict[str, dict]:
    return {op_id: pair for pair in document["pairs"] for op_id in pair["a"]["ops"]}


def _weight_bytes(path: Path) -> int:
    return json.loads(
        subprocess.run(
            [sys.executable, "-m", "mlinspect", "summary", "--json", str(path)],
            capture_output=True, text=True, check=True,
        ).stdout
    )["weights"]["total_bytes"]


@pytest.mark.parametrize(("size", "folder"), SIZES)
@pytest.mark.parametrize(
    ("variant_a", "variant_b", "min_coverage"),
    [
        ("fp16_macos14", "w8_coreml_macos14", 1.0),
        ("fp16_macos14", "w8a8_torch_macos14", 0.98),
        ("w8a8_torch_macos14", W8A8_CORE, 0.95),
        ("fp16_macos14", "fp16_macos15", 1.0),
        ("fp16_macos15", "palettized4_macos15", 1.0),
        ("fp16_macos15", "pruned50_macos15", 1.0),
    ],
)
def test_diff_pairs_linears_by_layer_and_role(size, folder, variant_a, variant_b, min_coverage):
    a = vit_package(folder, size, variant_a)
    b = vit_package(folder, size, variant_b)
    truth_a, truth_b = linear_roles(a), linear_roles(b)

    document = _diff(folder, size, variant_a, variant_b)
    pairs = _pairs_by_a(document)

    assert document["coverage"] >= min_coverage
    assert len(truth_a) == len(truth_b)
    for op_id, role in truth_a.items():
        assert op_id in pairs, f"{op_id} ({role}) is not paired"
        partner = pairs[op_id]["b"]["id"]
        assert truth_b[partner] == role, f"{op_id} {role} paired with {partner} {truth_b[partner]}"


@pytest.mark.parametrize(("size", "folder"), SIZES)
def test_diff_pairs_fused_attention_with_matmul_groups(size, folder):
    a = vit_package(folder, size, "fp16_macos14")
    b = vit_package(folder, size, "fp16_macos15")
    matmuls_a, fused_b = attention_layers(a), attention_layers(b)

    document = _diff(folder, size, "fp16_macos14", "fp16_macos15")
    groups = [p for p in document["pairs"] if p["method"] == "attention_group"]

    assert len(groups) == len(fused_b)
    for group in groups:
        (layer_b, kind) = fused_b[group["b"]["id"]]
        layers_a = {matmuls_a[op][0] for op in group["a"]["ops"] if op in matmuls_a}
        assert kind == "fused"
        assert layers_a == {layer_b}
        assert len([op for op in group["a"]["ops"] if op in matmuls_a]) == 2
    assert any(f["kind"] == "attention_fused" for f in document["findings"])


@pytest.mark.parametrize(("size", "folder"), SIZES)
@pytest.mark.parametrize(
    ("variant_a", "variant_b"),
    [
        ("fp16_macos14", "w8_coreml_macos14"),
        ("fp16_macos14", "w8a8_torch_macos14"),
        ("w8a8_torch_macos14", W8A8_CORE),
        ("fp16_macos15", "palettized4_macos15"),
        ("fp16_macos15", "pruned50_macos15"),
    ],
)
def test_weight_findings_add_up_to_weight_delta(size, folder, variant_a, variant_b):
    real_delta = _weight_bytes(vit_package(folder, size, variant_b)) - _weight_bytes(vit_package(folder, size, variant_a))

    document = _diff(folder, size, variant_a, variant_b)
    explained = sum(f["bytes"] for f in document["findings"] if f["kind"].startswith("weight"))

    assert document["weights"]["delta"] == real_delta
    assert explained == real_delta


@pytest.mark.parametrize(("size", "folder"), SIZES)
def test_torch_vs_coreml_names_fp16_attention_projections(size, folder):
    a = vit_package(folder, size, "w8a8_torch_macos14")
    truth = linear_roles(a)
    projections = {op for op, (_, role) in truth.items() if role in ("in_proj", "out_proj")}

    document = _diff(folder, size, "w8a8_torch_macos14", W8A8_CORE)
    storage = [f for f in document["findings"] if f["kind"] == "weight_storage" and f["numbers"]["dtype_a"] == "fp16"]

    assert len(storage) == 1
    assert set(storage[0]["ops_a"]) == projections
    assert storage[0]["numbers"]["dtype_b"] == "int8"
    assert "attention input projection" in storage[0]["text"]
    assert storage[0]["bytes"] < 0


@pytest.mark.parametrize(("size", "folder"), SIZES)
@pytest.mark.parametrize(("variant_a", "variant_b"), [("fp16_macos14", "w8a8_torch_macos14"), ("w8a8_torch_macos14", W8A8_CORE)])
def test_attention_matmuls_quantized_in_neither(size, folder, variant_a, variant_b):
    matmuls = set(attention_layers(vit_package(folder, size, variant_a)))

    document = _diff(folder, size, variant_a, variant_b)
    neither = [
        f for f in document["findings"]
        if f["kind"] == "activations_quantized_in_neither" and f["ops_a"][0] in matmuls
    ]

    assert len(neither) == 1
    assert set(neither[0]["ops_a"]) == matmuls


@pytest.mark.parametrize(("size", "folder"), SIZES)
def test_model_diffed_with_itself_has_no_findings(size, folder):
    document = _diff(folder, size, "w8a8_torch_macos14", "w8a8_torch_macos14")

    assert document["coverage"] == 1.0
    assert document["findings"] == []
    assert document["only_in_a"] == []
    assert document["only_in_b"] == []
    assert all(pair["changes"] == [] for pair in document["pairs"])


def test_diff_json_matches_schema():
    document = _diff(REPO / "samples", "tiny", "w8a8_torch_macos14", W8A8_CORE)

    jsonschema.validate(document, DIFF_SCHEMA)


def test_unrelated_models_report_low_coverage(plain_package):
    sample = vit_package(REPO / "samples", "tiny", "fp16_macos14")

    result = subprocess.run(
        [sys.executable, "-m", "mlinspect", "diff", "--format", "text", str(sample), str(plain_package)],
        capture_output=True, text=True,
    )

    assert result.returncode == 0
    assert "low coverage" in result.stdout
    assert "Traceback" not in result.stderr


def _run_diff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlinspect", "diff", *args], capture_output=True, text=True)


def test_fail_on_weight_growth_exits_1():
    small = vit_package(REPO / "samples", "tiny", "w8_coreml_macos14")
    large = vit_package(REPO / "samples", "tiny", "fp16_macos14")

    grew = _run_diff("--json", "--fail-on", "weight-growth", str(small), str(large))
    shrank = _run_diff("--json", "--fail-on", "weight-growth", str(large), str(small))

    assert grew.returncode == 1
    assert "weights grew" in grew.stderr
    assert json.loads(grew.stdout)["schema"] == "mlinspect.diff/1"
    assert shrank.returncode == 0


def test_min_coverage_exits_1_below_threshold(plain_package):
    sample = vit_package(REPO / "samples", "tiny", "fp16_macos14")

    result = _run_diff("--json", "--min-coverage", "0.9", str(sample), str(plain_package))

    assert result.returncode == 1
    assert "below --min-coverage" in result.stderr


def test_diff_of_missing_file_exits_2(tmp_path):
    sample = vit_package(REPO / "samples", "tiny", "fp16_macos14")

    result = _run_diff(str(sample), str(tmp_path / "absent.mlpackage"))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"mlinspect: error: {tmp_path / 'absent.mlpackage'}: not found"


def test_python_api_diff_returns_comparison():
    a = vit_package(REPO / "samples", "tiny", "fp16_macos14")
    b = vit_package(REPO / "samples", "tiny", "w8_coreml_macos14")

    comparison = mlinspect.diff(str(a), str(b))
    again = mlinspect.diff(mlinspect.load(a), mlinspect.load(b))

    assert comparison.coverage["compute"] == 1.0
    assert to_json(comparison) == to_json(again)
    assert callable(mlinspect.diff)


def test_shared_blobs_counted_once_in_findings(shared_weight_packages):
    a, b = shared_weight_packages
    real_delta = _weight_bytes(b) - _weight_bytes(a)

    document = to_json(compare(mlinspect.load(a), mlinspect.load(b)))
    weight_findings = [f for f in document["findings"] if f["kind"].startswith("weight")]
    storage = next(f for f in weight_findings if f["kind"] == "weight_storage")

    assert real_delta < 0
    assert sum(f["bytes"] for f in weight_findings) == real_delta
    assert storage["numbers"]["count"] == 2
    assert storage["numbers"]["bytes_a"] == _weight_bytes(a)
    assert storage["numbers"]["bytes_b"] == _weight_bytes(b)
    assert "first/" in storage["text"]
    assert "second/" in storage["text"]
