"""mlinspect diff with a profile per side: latency overlay, ranking by time, device changes.

The profiles are made up by tests/profile_fakes.py; no number here was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from mlinspect.profile.record import profile_record
from profile_fakes import fake_profile
from vit_truth import REPO

DIFF_SCHEMA = json.loads((REPO / "mlinspect" / "schemas" / "diff.schema.json").read_text())
A = "samples/vit_tiny_fp16_macos14.mlpackage"
B = "samples/vit_tiny_w8a8_torch_macos14.mlpackage"


def _write_profile(model: str, folder: Path, matmul_device: str | None = None) -> Path:
    record = profile_record(fake_profile(REPO / model))
    if matmul_device is not None:
        for run in record["runs"]:
            for op in run["ops"].values():
                if op["type"] in ("linear", "matmul"):
                    op["preferred_device"] = matmul_device
                    op["supported_devices"] = sorted({"cpu", matmul_device})
    path = folder / f"{Path(model).stem}.profile.json"
    path.write_text(json.dumps(record))
    return path


def _diff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlinspect", "diff", *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("profiles")
    return _write_profile(A, folder), _write_profile(B, folder, matmul_device="gpu")


def test_profiled_diff_carries_estimated_latency(profiles):
    profile_a, profile_b = profiles

    result = _diff("--json", A, B, "--profile-a", str(profile_a), "--profile-b", str(profile_b))
    document = json.loads(result.stdout)

    assert result.returncode == 0
    jsonschema.validate(document, DIFF_SCHEMA)
    assert document["a"]["profile"]["estimate"] == "estimated from the compute plan"
    assert all(pair["a"]["estimated_ms"] is not None for pair in document["pairs"])
    matmul = next(row for row in document["categories"] if row["category"] == "matmul")
    assert matmul["estimated_ms"]["a"] > 0
    assert matmul["estimated_ms"]["delta"] == pytest.approx(matmul["estimated_ms"]["b"] - matmul["estimated_ms"]["a"])


def test_profiled_findings_rank_by_time(profiles):
    profile_a, profile_b = profiles

    document = json.loads(_diff("--json", A, B, "--profile-a", str(profile_a), "--profile-b", str(profile_b)).stdout)
    times = [abs(f["ms"]) for f in document["findings"]]

    assert all(f["ms"] is not None for f in document["findings"])
    assert times == sorted(times, reverse=True)


def test_profiled_diff_reports_device_change(profiles):
    profile_a, profile_b = profiles

    document = json.loads(_diff("--json", A, B, "--profile-a", str(profile_a), "--profile-b", str(profile_b)).stdout)
    moved = [f for f in document["findings"] if f["kind"] == "device_change"]

    assert {(f["numbers"]["device_a"], f["numbers"]["device_b"]) for f in moved} == {("neural_engine", "gpu")}
    assert sum(f["numbers"]["count"] for f in moved) == 13
    assert "on the Neural Engine in A and on the GPU in B" in moved[0]["text"]


def test_profile_of_other_model_is_rejected(profiles):
    profile_a, _ = profiles

    result = _diff(A, B, "--profile-b", str(profile_a))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mlinspect: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unprofiled_diff_has_no_latency():
    document = json.loads(_diff("--json", A, B).stdout)

    assert document["a"]["profile"] is None
    assert all(f["ms"] is None for f in document["findings"])
    assert all(pair["a"]["device"] is None for pair in document["pairs"])
