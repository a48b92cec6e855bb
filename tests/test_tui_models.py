"""Session fixtures for the TUI tests: a pair of small transformer-like models and a control-flow model.

Model A stores fp16 weights. Model B is A with int8 weights (coremltools'
`linear_quantize_weights`) plus one extra relu, so a diff of the two has
changed pairs, findings and an op found only in B. Both are built with
coremltools' MIL builder, because the committed ViT samples are not there
yet and a torch model is not the point of these tests.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import builders
import numpy as np
import pytest

HIDDEN = 32
TOKENS = 4


def _block_program(extra_relu: bool):
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(0)
    weights = {
        name: rng.standard_normal((HIDDEN, HIDDEN)).astype(np.float32)
        for name in ("q", "k", "v", "out", "mlp")
    }
    gamma = np.ones(HIDDEN, dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(TOKENS, HIDDEN))], opset_version=ct.target.iOS17)
    def program(x):
        normed = mb.layer_norm(x=x, axes=[-1], gamma=gamma, beta=gamma * 0, name="norm")
        query = mb.linear(x=normed, weight=weights["q"], name="query")
        key = mb.linear(x=normed, weight=weights["k"], name="key")
        value = mb.linear(x=normed, weight=weights["v"], name="value")
        scores = mb.matmul(x=query, y=key, transpose_y=True, name="scores")
        attention = mb.softmax(x=scores, axis=-1, name="attention")
        mixed = mb.matmul(x=attention, y=value, name="mixed")
        projected = mb.linear(x=mixed, weight=weights["out"], name="projected")
        hidden = mb.add(x=x, y=projected, name="residual")
        if extra_relu:
            hidden = mb.relu(x=hidden, name="extra_relu")
        return mb.linear(x=mb.gelu(x=hidden, name="activation"), weight=weights["mlp"], name="mlp")

    return program


def build_block_pair(folder: Path) -> tuple[Path, Path]:
    """Write block_fp16.mlpackage (A) and block_int8.mlpackage (B) into `folder`."""
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    path_a = folder / "block_fp16.mlpackage"
    path_b = folder / "block_int8.mlpackage"
    convert = {"convert_to": "mlprogram", "minimum_deployment_target": ct.target.iOS17}
    ct.convert(_block_program(extra_relu=False), **convert).save(str(path_a))
    model_b = ct.convert(_block_program(extra_relu=True), **convert)
    config = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", weight_threshold=0)
    cto.linear_quantize_weights(model_b, cto.OptimizationConfig(global_config=config)).save(
        str(path_b)
    )
    return path_a, path_b


@pytest.fixture(scope="session")
def block_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_block_pair(tmp_path_factory.mktemp("tui_models"))


@pytest.fixture(scope="session")
def control_flow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builders.build_control_flow(tmp_path_factory.mktemp("tui_control_flow"))


def synchronous(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run, because no pytest plugin for async tests is installed."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper
