"""Large models: transformer-like programs of 1,000 and 10,000 ops, and weights declared in the gigabytes.

The packages come from bench/synthetic.py, which caches them under
MLINSPECT_BENCH_CACHE (default: a folder in the system temp directory). The
50,000-op program and the load-time and memory measurements are in
bench/bench_load.py, not in the default test run.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner

from mlinspect.cli.main import app
from mlinspect.mil.records import Model
from mlinspect.reader import load

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import synthetic  # noqa: E402  (bench/ is not a package)

SIZES = (1_000, 10_000)
# A sparse weight file of this declared size; its data is never written to disk.
SPARSE_WEIGHT_BYTES = 4 * 10**9


def read_spec(package: Path) -> Any:
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString((package / synthetic.MODEL_FILE).read_bytes())
    return spec


def protobuf_op_counts(package: Path) -> dict[str, Counter[str]]:
    """Count op types per function by walking the protobuf, nested blocks included."""
    spec = read_spec(package)
    counts = {}
    for name, function in spec.mlProgram.functions.items():
        block = function.block_specializations[function.opset]
        counts[name] = Counter(operation.type for operation in synthetic._walk(block.operations))
    return counts


def metadata_sizes(package: Path) -> dict[int, int]:
    """Map each blob metadata offset the program references to the size its record declares."""
    spec = read_spec(package)
    weight_file = package / synthetic.WEIGHT_FILE
    sizes = {}
    with open(weight_file, "rb") as file:
        for _, reference in synthetic._references(spec):
            file.seek(reference.offset)
            _, _, nbytes, _, _ = synthetic._METADATA.unpack(file.read(synthetic._METADATA.size))
            sizes[reference.offset] = nbytes
    return sizes


def run_cli(*arguments: str) -> Any:
    result = CliRunner().invoke(app, list(arguments))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module", params=SIZES, ids=[f"{size}_ops" for size in SIZES])
def transformer(request: pytest.FixtureRequest) -> Path:
    return synthetic.transformer_package(request.param)


@pytest.fixture(scope="module")
def transformer_model(transformer: Path) -> Model:
    return load(transformer)


@pytest.fixture(scope="module")
def sparse_package() -> Path:
    return synthetic.wide_mlp_package(SPARSE_WEIGHT_BYTES)


def test_transformer_size_near_target(transformer: Path) -> None:
    target = int(transformer.name.split("_")[1].split(".")[0])

    total = sum(sum(counts.values()) for counts in protobuf_op_counts(transformer).values())

    assert abs(total - target) <= 0.05 * target


def test_transformer_has_functions_and_nesting(transformer_model: Model) -> None:
    nested = [op for op in transformer_model.walk() if op.block.count("/") > 0]

    assert list(transformer_model.program.functions) == ["main", "decode", "prefill"]
    assert len(nested) > 0
    assert transformer_model.warnings == ()


def test_load_counts_every_op(transformer: Path, transformer_model: Model) -> None:
    expected = protobuf_op_counts(transformer)

    actual = {
        name: Counter(op.type for op in function.walk())
        for name, function in transformer_model.program.functions.items()
    }

    assert actual == expected


def test_load_reads_every_blob(transformer: Path, transformer_model: Model) -> None:
    expected = metadata_sizes(transformer)

    actual = {blob.offset: blob.nbytes for op in transformer_model.walk() for blob in op.blobs()}

    assert actual == expected


def test_graph_is_acyclic(transformer_model: Model) -> None:
    graph = transformer_model.graph("main")

    assert graph.number_of_nodes() == sum(1 for _ in transformer_model.program.functions["main"].walk())
    assert nx.is_directed_acyclic_graph(graph)


def test_summary_json(transformer: Path) -> None:
    expected_ops = sum(sum(counts.values()) for counts in protobuf_op_counts(transformer).values())
    expected_bytes = sum(metadata_sizes(transformer).values())

    result = run_cli("summary", str(transformer), "--json")

    summary = json.loads(result.stdout)
    assert result.exit_code == 0
    assert summary["ops"]["total"] == expected_ops
    assert [function["name"] for function in summary["functions"]] == ["main", "decode", "prefill"]
    assert summary["weights"]["total_bytes"] == expected_bytes
    assert summary["warnings"] == []


def test_summary_text(transformer: Path) -> None:
    result = run_cli("summary", str(transformer))

    assert result.exit_code == 0
    assert "ops by category" in result.stdout


def test_ops_json_rows(transformer: Path) -> None:
    counts = protobuf_op_counts(transformer)
    constant = sum(n for function in counts.values() for op_type, n in function.items() if op_type == "const")
    total = sum(sum(function.values()) for function in counts.values())

    result = run_cli("ops", str(transformer), "--json")

    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["ops"]) == total - constant


def test_diff_largest_against_smallest() -> None:
    small, large = (synthetic.transformer_package(size) for size in SIZES)

    result = run_cli("diff", str(large), str(small), "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema"].startswith("mlinspect.diff/")


def test_sparse_weights_declared_size(sparse_package: Path) -> None:
    weight_file = sparse_package / synthetic.WEIGHT_FILE

    model = load(sparse_package)

    total = sum(blob.nbytes for op in model.walk() for blob in op.blobs())
    assert abs(total - SPARSE_WEIGHT_BYTES) <= 0.01 * SPARSE_WEIGHT_BYTES
    assert weight_file.stat().st_size > SPARSE_WEIGHT_BYTES
    assert weight_file.stat().st_blocks * 512 < 10**6
    assert model.warnings == ()


def test_sparse_weights_summary(sparse_package: Path) -> None:
    expected = sum(metadata_sizes(sparse_package).values())

    result = run_cli("summary", str(sparse_package), "--json")

    summary = json.loads(result.stdout)
    assert result.exit_code == 0
    assert summary["weights"]["total_bytes"] == expected
    assert summary["weights"]["by_dtype"] == {"fp16": expected}


def test_sparse_weights_data_not_read(sparse_package: Path) -> None:
    """Only the header and the 64-byte metadata records are read: a few kB out of gigabytes."""
    before = _read_bytes()

    load(sparse_package)

    assert _read_bytes() - before < 10**6


def _read_bytes() -> int:
    """Return the bytes this process has read through read() and pread() so far (Linux /proc/self/io)."""
    if not os.path.exists("/proc/self/io"):
        pytest.skip("/proc/self/io not available")
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"])
