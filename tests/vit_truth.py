"""Ground truth for ViT samples, computed from the protobuf without mlinspect's reader.

torchvision's encoder block runs ln_1, attention (input projection, two
matmuls, output projection), ln_2, then the MLP (two linears). So the k-th
linear of a program is layer k // 4 with role in_proj, out_proj, mlp_1 or
mlp_2, and the last linear is the classifier head. Each layer has two
attention matmuls (scores, context) or one fused attention op.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
LINEAR_ROLES = ("in_proj", "out_proj", "mlp_1", "mlp_2")


def vit_dirs() -> list[tuple[str, Path]]:
    """Return (size, folder) of every ViT sample set present: the committed tiny one and, if named, ViT-B/16."""
    dirs = [("tiny", SAMPLES)]
    base = os.environ.get("MLINSPECT_VIT_B16_DIR")
    if base:
        dirs.append(("base", Path(base)))
    return dirs


def vit_package(folder: Path, size: str, variant: str) -> Path:
    path = folder / f"vit_{size}_{variant}.mlpackage"
    if not path.exists():
        pytest.skip(f"{path} not found; regenerate with samples/make_samples.py --size {size}")
    return path


def _ops(path: Path):
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString((path / "Data" / "com.apple.CoreML" / "model.mlmodel").read_bytes())
    function = spec.mlProgram.functions["main"]
    return list(function.block_specializations[function.opset].operations)


def linear_roles(path: Path) -> dict[str, tuple[int, str]]:
    """Return the op id of every linear mapped to (layer index, role)."""
    linears = [op for op in _ops(path) if op.type == "linear"]
    roles = {}
    for position, op in enumerate(linears):
        if position == len(linears) - 1:
            roles[f"main/{op.outputs[0].name}"] = (-1, "head")
        else:
            roles[f"main/{op.outputs[0].name}"] = (position // 4, LINEAR_ROLES[position % 4])
    return roles


def attention_layers(path: Path) -> dict[str, tuple[int, str]]:
    """Return the op id of every attention matmul or fused attention op mapped to (layer index, kind)."""
    ops = _ops(path)
    fused = [op for op in ops if op.type == "scaled_dot_product_attention"]
    if fused:
        return {f"main/{op.outputs[0].name}": (i, "fused") for i, op in enumerate(fused)}
    matmuls = [op for op in ops if op.type == "matmul"]
    return {f"main/{op.outputs[0].name}": (i // 2, ("scores", "context")[i % 2]) for i, op in enumerate(matmuls)}
