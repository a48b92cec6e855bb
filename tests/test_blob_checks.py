"""Blob metadata that disagrees with the program's declared types loads with a warning naming the file."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys

import mlinspect
from vit_truth import REPO

SAMPLE = REPO / "samples" / "vit_tiny_fp16_macos14.mlpackage"
WEIGHTS = "Data/com.apple.CoreML/weights/weight.bin"
FIRST_BLOB = 64  # the first metadata record follows the 64-byte storage header


def _copy_with_first_blob(tmp_path, code: int | None = None, size: int | None = None):
    package = tmp_path / SAMPLE.name
    shutil.copytree(SAMPLE, package)
    weights = package / WEIGHTS
    data = bytearray(weights.read_bytes())
    if code is not None:
        struct.pack_into("<I", data, FIRST_BLOB + 4, code)
    if size is not None:
        struct.pack_into("<Q", data, FIRST_BLOB + 8, size)
    weights.write_bytes(bytes(data))
    return package


def test_blob_dtype_mismatch_warns(tmp_path):
    package = _copy_with_first_blob(tmp_path, code=4)  # int8 where the program declares fp16

    model = mlinspect.load(package)

    assert len(model.warnings) == 1
    assert str(package / WEIGHTS) in model.warnings[0]
    assert "of int8 where the program declares fp16" in model.warnings[0]


def test_blob_size_mismatch_warns_on_stderr(tmp_path):
    package = _copy_with_first_blob(tmp_path, size=10)

    result = subprocess.run(
        [sys.executable, "-m", "mlinspect", "summary", "--json", str(package)], capture_output=True, text=True
    )

    assert result.returncode == 0
    assert result.stderr.startswith(f"mlinspect: warning: {package / WEIGHTS}: 1 blobs disagree")
    assert "holds 10 bytes" in result.stderr


def test_samples_have_no_blob_mismatch():
    for package in sorted((REPO / "samples").glob("*.mlpackage")):
        assert mlinspect.load(package).warnings == (), package.name
