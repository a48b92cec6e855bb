"""Golden JSON for the committed samples: `summary --json` and `diff --json` must not change unnoticed.

After an intended change, rewrite the files with
`MLINSPECT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py` and review
the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vit_truth import REPO

GOLDEN = REPO / "tests" / "golden"
UPDATE = os.environ.get("MLINSPECT_UPDATE_GOLDEN") == "1"
DIFF_PAIRS = [
    ("fp16_macos14", "w8_coreml_macos14"),
    ("fp16_macos14", "w8a8_torch_macos14"),
    ("w8a8_torch_macos14", "w8a8_coreml_uncalibrated_macos14"),
    ("fp16_macos14", "fp16_macos15"),
    ("fp16_macos15", "palettized4_macos15"),
    ("fp16_macos15", "pruned50_macos15"),
]
SUMMARIES = ["w8a8_torch_macos14", "palettized4_macos15", "pruned50_macos15"]


def _run(*args: str) -> dict:
    # Relative paths keep the documents free of this checkout's location.
    result = subprocess.run(
        [sys.executable, "-m", "mlinspect", *args, "--json"], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(result.stdout)


def _check(name: str, document: dict) -> None:
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.write_text(json.dumps(document, indent=2) + "\n")
    expected = json.loads(path.read_text())
    assert document == expected, f"{path.name} differs; rerun with MLINSPECT_UPDATE_GOLDEN=1 if the change is intended"


@pytest.mark.parametrize(("variant_a", "variant_b"), DIFF_PAIRS, ids=[f"{a}-{b}" for a, b in DIFF_PAIRS])
def test_diff_matches_golden(variant_a, variant_b):
    document = _run("diff", f"samples/vit_tiny_{variant_a}.mlpackage", f"samples/vit_tiny_{variant_b}.mlpackage")

    _check(f"diff_{variant_a}__{variant_b}", document)


@pytest.mark.parametrize("variant", SUMMARIES)
def test_summary_matches_golden(variant):
    document = _run("summary", f"samples/vit_tiny_{variant}.mlpackage")

    _check(f"summary_{variant}", document)
