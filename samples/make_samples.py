"""Regenerate the sample Core ML packages of a Vision Transformer.

Builds torchvision's ``VisionTransformer`` with random weights (fixed seeds), traces it with
``torch.jit.trace``, converts it with coremltools and writes seven variants to
``OUT/vit_{size}_{variant}.mlpackage``:

- ``fp16_macos14``: plain FP16 conversion for macOS 14.
- ``w8a8_torch_macos14``: W8A8 through ``coremltools.optimize.torch.quantization.LinearQuantizer``
  before conversion.
- ``w8a8_coreml_uncalibrated_macos14`` (``w8a8_coreml_macos14`` on macOS): W8A8 through
  ``coremltools.optimize.coreml`` after conversion. Core ML prediction is missing on Linux, so there
  the activation ranges come from evaluating the FP16 program in PyTorch, not from Core ML.
- ``w8_coreml_macos14``: int8 weights through ``coremltools.optimize.coreml``.
- ``fp16_macos15``: FP16 for macOS 15, with fused ``scaled_dot_product_attention`` ops.
- ``palettized4_macos15``: 4-bit k-means palettized weights.
- ``pruned50_macos15``: 50 % magnitude-pruned weights.

``--size tiny`` (the default) makes packages of a few hundred KB, small enough for the repository.
``--size base`` makes the real ViT-B/16, whose packages take 42-166 MB each, so write them outside
the repository.

Run it with the ``samples`` extra plus the k-means packages that palettization needs::

    pip install '.[samples]' scikit-learn kmeans1d
    python samples/make_samples.py --size tiny --out samples/
    python samples/make_samples.py --size base --out /data/vit-b16/

The ``mlinspect`` package never imports this script.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import coremltools as ct
import coremltools.optimize as cto
import numpy as np
import torch
import torch.nn.functional as F
from coremltools.converters.mil.mil import Function, Operation, Var
from coremltools.optimize.coreml.experimental._post_training_quantization import (
    _adjust_concat_surrounding_activation_stats,
)
from coremltools.optimize.torch.quantization import (
    LinearQuantizer,
    LinearQuantizerConfig,
    ModuleLinearQuantizerConfig,
)
from torchvision.models.vision_transformer import VisionTransformer

LOGGER = logging.getLogger("make_samples")

SEED = 0
INPUT_NAME = "image"
OUTPUT_NAME = "logits"

# Compress every const with more elements than this. It is below the smallest linear weight of
# the tiny model (the 10 x 64 classifier head, 640 elements). coremltools 9.0 never compresses
# rank-1 consts (biases, layer-norm parameters), whatever the threshold.
WEIGHT_THRESHOLD = 512

# coremltools.optimize.coreml replaces this function to compute activation ranges. It calls
# MLModel.predict, which needs the Core ML runtime (macOS only).
CALIBRATION_STATS_TARGET = (
    "coremltools.optimize.coreml._post_training_quantization._get_activation_calibration_stats"
)

ActivationStats = dict[str, dict[str, float]]


@dataclass(frozen=True)
class VitSize:
    """Hyperparameters of one torchvision ``VisionTransformer`` and its calibration budget."""

    name: str
    image_size: int
    patch_size: int
    num_layers: int
    num_heads: int
    hidden_dim: int
    mlp_dim: int
    num_classes: int
    calibration_batches: int
    calibration_batch_size: int

    def describe(self) -> str:
        return (
            f"torchvision VisionTransformer with random weights (seed {SEED}): "
            f"image {self.image_size}, patch {self.patch_size}, {self.num_layers} layers, "
            f"hidden {self.hidden_dim}, MLP {self.mlp_dim}, {self.num_heads} heads, "
            f"{self.num_classes} classes"
        )


SIZES = {
    "tiny": VitSize(
        "tiny", 32, 8, 2, 4, 64, 128, 10, calibration_batches=4, calibration_batch_size=4
    ),
    # The configuration of torchvision.models.vit_b_16.
    "base": VitSize(
        "base", 224, 16, 12, 12, 768, 3072, 1000, calibration_batches=4, calibration_batch_size=2
    ),
}

VARIANT_DESCRIPTIONS = {
    "fp16_macos14": "ViT converted to an FP16 ML program for macOS 14, without compression.",
    "w8a8_torch_macos14": (
        "ViT quantized to int8 weights and int8 activations with coremltools.optimize.torch "
        "LinearQuantizer before conversion, for macOS 14."
    ),
    "w8a8_coreml_macos14": (
        "ViT converted to FP16 for macOS 14, then quantized with coremltools.optimize.coreml: "
        "int8 activations calibrated with Core ML on random images, then int8 weights."
    ),
    "w8a8_coreml_uncalibrated_macos14": (
        "ViT converted to FP16 for macOS 14, then quantized with coremltools.optimize.coreml: "
        "int8 activations with ranges computed outside Core ML (see mlinspect.activation_ranges), "
        "then int8 weights."
    ),
    "w8_coreml_macos14": (
        "ViT converted to FP16 for macOS 14, then given int8 weights with "
        "coremltools.optimize.coreml.linear_quantize_weights; activations stay FP16."
    ),
    "fp16_macos15": (
        "ViT converted to an FP16 ML program for macOS 15, with fused "
        "scaled_dot_product_attention ops."
    ),
    "palettized4_macos15": (
        "ViT converted to FP16 for macOS 15, then given 4-bit k-means palettized weights with "
        "coremltools.optimize.coreml.palettize_weights."
    ),
    "pruned50_macos15": (
        "ViT converted to FP16 for macOS 15, then 50 % magnitude-pruned with "
        "coremltools.optimize.coreml.prune_weights."
    ),
}


# --- PyTorch model -------------------------------------------------------------------------------


def build_vit(size: VitSize) -> VisionTransformer:
    """Build the ViT in eval mode with seeded random weights.

    torchvision zero-initializes the class token, the classifier head and the attention
    projection biases. Those get N(0, 0.02) values here, because a zero head weight gives weight
    quantization zero scales, and coremltools' const deduplication would merge identical zero
    tensors, which a trained model does not have.
    """
    torch.manual_seed(SEED)
    model = VisionTransformer(
        image_size=size.image_size,
        patch_size=size.patch_size,
        num_layers=size.num_layers,
        num_heads=size.num_heads,
        hidden_dim=size.hidden_dim,
        mlp_dim=size.mlp_dim,
        num_classes=size.num_classes,
    )
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    return model.eval()


def make_images(size: VitSize, count: int, seed: int) -> torch.Tensor:
    """Return ``count`` random N(0, 1) images, the scale of normalized pixels."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 3, size.image_size, size.image_size, generator=generator)


def calibration_batches(size: VitSize) -> list[torch.Tensor]:
    images = make_images(size, size.calibration_batches * size.calibration_batch_size, SEED + 1)
    return list(images.split(size.calibration_batch_size))


def trace(model: torch.nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Trace ``model`` with ``torch.jit.trace``.

    The fast path of ``nn.MultiheadAttention`` is turned off. Under ``no_grad`` it traces to
    ``aten::_native_multi_head_attention``, which coremltools 9.0 cannot convert. With autograd
    on, the trace takes the slow path but the tracer's check run takes the fast path, and the
    check fails. The slow path of torch 2.14 calls ``F.scaled_dot_product_attention`` because
    torchvision passes ``need_weights=False``.

    ``torch.export`` converts the FP16 model too, but fails on the finalized quantized model
    because ``quantize_per_channel`` has no fake-tensor kernel in torch 2.14.1.
    """
    previous = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            return torch.jit.trace(model.eval(), example)
    finally:
        torch.backends.mha.set_fastpath_enabled(previous)


def quantize_with_torch(model: torch.nn.Module, batches: Sequence[torch.Tensor]) -> torch.nn.Module:
    """Return a W8A8 copy of ``model`` from ``LinearQuantizer``, calibrated on ``batches``.

    The default milestones (``None``) turn observers and fake quantization on from the first
    batch, so ``quantizer.step()`` does nothing here. It is called after each batch all the same,
    as the coremltools documentation shows, so other milestones work unchanged.
    """
    config = LinearQuantizerConfig(
        global_config=ModuleLinearQuantizerConfig(
            quantization_scheme="symmetric",
            weight_dtype=torch.qint8,
            activation_dtype=torch.quint8,
        )
    )
    quantizer = LinearQuantizer(model, config)
    prepared = quantizer.prepare(example_inputs=(batches[0][:1],))
    with torch.no_grad():
        for batch in batches:
            prepared(batch)
            quantizer.step()
    return quantizer.finalize().eval()


# --- Conversion and coremltools compression ------------------------------------------------------


def convert(traced: torch.jit.ScriptModule, size: VitSize, target: ct.target) -> ct.models.MLModel:
    shape = (1, 3, size.image_size, size.image_size)
    return ct.convert(
        traced,
        inputs=[ct.TensorType(name=INPUT_NAME, shape=shape)],
        outputs=[ct.TensorType(name=OUTPUT_NAME)],
        convert_to="mlprogram",
        minimum_deployment_target=target,
        compute_precision=ct.precision.FLOAT16,
    )


def int8_config() -> cto.coreml.OptimizationConfig:
    return cto.coreml.OptimizationConfig(
        global_config=cto.coreml.OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", weight_threshold=WEIGHT_THRESHOLD
        )
    )


def quantize_weights_int8(model: ct.models.MLModel) -> ct.models.MLModel:
    return cto.coreml.linear_quantize_weights(model, int8_config())


def palettize_4bit(model: ct.models.MLModel) -> ct.models.MLModel:
    config = cto.coreml.OptimizationConfig(
        global_config=cto.coreml.OpPalettizerConfig(
            nbits=4, mode="kmeans", weight_threshold=WEIGHT_THRESHOLD
        )
    )
    return cto.coreml.palettize_weights(model, config)


_NUMPY_PERCENTILE = np.percentile


def _percentile_in_float32(values: Any, q: Any, *args: Any, **kwargs: Any) -> Any:
    array = np.asarray(values)
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    return _NUMPY_PERCENTILE(array, q, *args, **kwargs)


def prune_half(model: ct.models.MLModel) -> ct.models.MLModel:
    """Prune the half of each weight with the smallest magnitudes.

    coremltools 9.0 takes the magnitude threshold with ``np.percentile`` on the FP16 weight. With
    numpy 2.3 that returns NaN for arrays of more than about 65,500 elements, because the index
    is computed in float16 and overflows, and then nothing is pruned. The percentile is taken in
    float32 here.
    """
    config = cto.coreml.OptimizationConfig(
        global_config=cto.coreml.OpMagnitudePrunerConfig(
            target_sparsity=0.5, weight_threshold=WEIGHT_THRESHOLD
        )
    )
    with mock.patch("numpy.percentile", _percentile_in_float32):
        return cto.coreml.prune_weights(model, config)


def quantize_activations_int8(
    model: ct.models.MLModel,
    images: torch.Tensor,
    stats_function: Callable[..., ActivationStats] | None,
) -> ct.models.MLModel:
    """Insert int8 quantize/dequantize pairs with ``linear_quantize_activations``.

    With ``stats_function`` set, it replaces coremltools' calibration, which runs
    ``MLModel.predict``. It receives the same arguments (model, sample data, group size).
    """
    sample_data = [{INPUT_NAME: image[None].numpy()} for image in images]
    if stats_function is None:
        return cto.coreml.linear_quantize_activations(model, int8_config(), sample_data)
    with mock.patch(CALIBRATION_STATS_TARGET, stats_function):
        return cto.coreml.linear_quantize_activations(model, int8_config(), sample_data)


# --- Activation ranges without Core ML -----------------------------------------------------------
#
# The evaluator below runs an ML program's ops with PyTorch in float32 so that activation ranges
# can be taken per MIL var name, as coremltools' calibration would take them from Core ML outputs.
# It covers the op types of the converted macOS 14 ViT and raises on any other op type.


def _tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.as_tensor(np.asarray(value, dtype=np.float32))


def _ints(value: Any) -> list[int]:
    return [int(item) for item in np.asarray(value).reshape(-1)]


def _bools(value: Any, rank: int) -> list[bool]:
    if value is None:
        return [False] * rank
    return [bool(item) for item in np.asarray(value).reshape(-1)]


def _conv(args: dict[str, Any]) -> torch.Tensor:
    x, weight = _tensor(args["x"]), _tensor(args["weight"])
    if weight.dim() != 4:
        raise NotImplementedError(
            f"only 2-D conv is evaluated, got a weight of rank {weight.dim()}"
        )
    pad_type = str(args.get("pad_type", "valid"))
    if pad_type == "custom":
        top, bottom, left, right = _ints(args["pad"])
        x = F.pad(x, [left, right, top, bottom])
    elif pad_type != "valid":
        raise NotImplementedError(f"conv pad_type {pad_type!r} is not evaluated")
    bias = None if args.get("bias") is None else _tensor(args["bias"])
    return F.conv2d(
        x,
        weight,
        bias,
        stride=_ints(args["strides"]),
        dilation=_ints(args["dilations"]),
        groups=int(args["groups"]),
    )


def _layer_norm(args: dict[str, Any]) -> torch.Tensor:
    x = _tensor(args["x"])
    axes = _ints(args["axes"])
    mean = x.mean(dim=axes, keepdim=True)
    variance = (x - mean).pow(2).mean(dim=axes, keepdim=True)
    y = (x - mean) / torch.sqrt(variance + float(args["epsilon"]))
    if args.get("gamma") is not None:
        y = y * _tensor(args["gamma"])
    if args.get("beta") is not None:
        y = y + _tensor(args["beta"])
    return y


def _expand_dims(args: dict[str, Any]) -> torch.Tensor:
    x = _tensor(args["x"])
    axes = _ints(args["axes"])
    output_rank = x.dim() + len(axes)
    for axis in sorted(axis % output_rank for axis in axes):
        x = x.unsqueeze(axis)
    return x


def _squeeze(args: dict[str, Any]) -> torch.Tensor:
    x = _tensor(args["x"])
    if args.get("axes") is None:
        return x.squeeze()
    for axis in sorted((axis % x.dim() for axis in _ints(args["axes"])), reverse=True):
        x = x.squeeze(axis)
    return x


def _slice_by_index(args: dict[str, Any]) -> torch.Tensor:
    x = _tensor(args["x"])
    rank = x.dim()
    begin, end = _ints(args["begin"]), _ints(args["end"])
    stride = _ints(args["stride"]) if args.get("stride") is not None else [1] * rank
    begin_mask = _bools(args.get("begin_mask"), rank)
    end_mask = _bools(args.get("end_mask"), rank)
    squeeze_mask = _bools(args.get("squeeze_mask"), rank)
    if any(step <= 0 for step in stride):
        raise NotImplementedError(f"slice_by_index with stride {stride} is not evaluated")
    index: list[int | slice] = []
    for axis in range(rank):
        if squeeze_mask[axis]:
            index.append(begin[axis])
            continue
        start = None if begin_mask[axis] else begin[axis]
        stop = None if end_mask[axis] else end[axis]
        index.append(slice(start, stop, stride[axis]))
    return x[tuple(index)]


def _matmul(args: dict[str, Any]) -> torch.Tensor:
    x, y = _tensor(args["x"]), _tensor(args["y"])
    if bool(args.get("transpose_x", False)):
        x = x.transpose(-1, -2)
    if bool(args.get("transpose_y", False)):
        y = y.transpose(-1, -2)
    return torch.matmul(x, y)


def _concat(args: dict[str, Any]) -> torch.Tensor:
    if bool(args.get("interleave", False)):
        raise NotImplementedError("concat with interleave=True is not evaluated")
    return torch.cat([_tensor(value) for value in args["values"]], dim=int(args["axis"]))


def _gelu(args: dict[str, Any]) -> torch.Tensor:
    x = _tensor(args["x"])
    mode = str(args.get("mode", "EXACT"))
    if mode == "EXACT":
        return F.gelu(x)
    if mode == "TANH_APPROXIMATION":
        return F.gelu(x, approximate="tanh")
    if mode == "SIGMOID_APPROXIMATION":
        return x * torch.sigmoid(1.702 * x)
    raise NotImplementedError(f"gelu mode {mode!r} is not evaluated")


def _linear(args: dict[str, Any]) -> torch.Tensor:
    bias = None if args.get("bias") is None else _tensor(args["bias"])
    return F.linear(_tensor(args["x"]), _tensor(args["weight"]), bias)


MIL_KERNELS: dict[str, Callable[[dict[str, Any]], torch.Tensor]] = {
    "add": lambda args: _tensor(args["x"]) + _tensor(args["y"]),
    "mul": lambda args: _tensor(args["x"]) * _tensor(args["y"]),
    "concat": _concat,
    "conv": _conv,
    "expand_dims": _expand_dims,
    "gelu": _gelu,
    "layer_norm": _layer_norm,
    "linear": _linear,
    "matmul": _matmul,
    "reshape": lambda args: _tensor(args["x"]).reshape(_ints(args["shape"])),
    "slice_by_index": _slice_by_index,
    "softmax": lambda args: torch.softmax(_tensor(args["x"]), dim=int(args["axis"])),
    "squeeze": _squeeze,
    "transpose": lambda args: _tensor(args["x"]).permute(_ints(args["perm"])),
}


def _resolve(values: dict[str, Any], binding: Var | Sequence[Var]) -> Any:
    if isinstance(binding, (list, tuple)):
        return [values[var.name] for var in binding]
    return values[binding.name]


def evaluate_function(function: Function, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """Evaluate ``function`` in float32 and return every var's value by name.

    Const vars keep their stored value, so FP16 weights enter the float32 arithmetic rounded.
    """
    values: dict[str, Any] = {name: _tensor(array) for name, array in inputs.items()}
    for op in function.operations:
        output = op.outputs[0]
        if op.op_type == "const":
            values[output.name] = output.val
            continue
        kernel = MIL_KERNELS.get(op.op_type)
        if kernel is None or len(op.outputs) != 1:
            raise NotImplementedError(
                f"cannot evaluate MIL op {op.name!r} of type {op.op_type!r}: "
                "MIL_KERNELS has no kernel for it, so add one"
            )
        args = {name: _resolve(values, binding) for name, binding in op.inputs.items()}
        values[output.name] = kernel(args)
    return values


def _concat_groups(function: Function) -> list[list[str]]:
    groups = []
    for op in function.operations:
        if op.op_type == "concat":
            groups.append([var.name for var in op.inputs["values"]] + [op.outputs[0].name])
    return groups


def _update_range(stats: ActivationStats, name: str, value: torch.Tensor) -> None:
    low, high = float(value.min()), float(value.max())
    entry = stats[name]
    entry["rmin"] = min(low, entry.get("rmin", low))
    entry["rmax"] = max(high, entry.get("rmax", high))


@dataclass
class EvaluatedRanges:
    """Replacement for coremltools' calibration that evaluates an FP16 program with PyTorch.

    ``__call__`` has the signature of coremltools 9.0's ``_get_activation_calibration_stats``. It
    evaluates ``function`` (the FP16 program whose var names the quantized model keeps) on each
    sample and checks the output against ``reference`` (the PyTorch model in float32).
    """

    function: Function
    reference: torch.nn.Module
    max_output_error: float = 0.0
    sample_count: int = 0

    def __call__(
        self, model: ct.models.MLModel, sample_data: list[dict[str, np.ndarray]], group_size: int
    ) -> ActivationStats:
        const_names = {
            op.outputs[0].name for op in self.function.operations if op.op_type == "const"
        }
        stats: ActivationStats = defaultdict(dict)
        for sample in sample_data:
            values = evaluate_function(self.function, sample)
            for name, value in values.items():
                if name not in const_names:
                    _update_range(stats, name, value)
            self._check_output(sample, values[OUTPUT_NAME])
        self.sample_count = len(sample_data)
        _adjust_concat_surrounding_activation_stats(_concat_groups(self.function), stats)
        return stats

    def _check_output(self, sample: dict[str, np.ndarray], output: torch.Tensor) -> None:
        with torch.no_grad():
            expected = self.reference(torch.from_numpy(sample[INPUT_NAME]))
        error = float((output - expected).abs().max())
        scale = float(expected.abs().max())
        # The program's weights are FP16 and the model's float32, so the outputs differ slightly.
        # A wrong kernel gives errors of the order of the output scale.
        if error > 1e-2 * scale + 1e-3:
            raise RuntimeError(
                f"the PyTorch evaluation of the ML program differs from the PyTorch model by "
                f"{error:.3g} (output scale {scale:.3g}); an evaluator kernel is wrong"
            )
        self.max_output_error = max(self.max_output_error, error)

    def describe(self) -> str:
        return (
            f"uncalibrated: Core ML prediction is not available on Linux, so each activation range "
            f"is the min and max of that MIL var when the FP16 program's ops are evaluated in "
            f"float32 with PyTorch on {self.sample_count} random N(0, 1) images (seed {SEED + 1}); "
            f"the evaluated logits differed from the PyTorch model by at most "
            f"{self.max_output_error:.2g}."
        )


# --- Checks of the converted programs ------------------------------------------------------------


@dataclass(frozen=True)
class LinearCoverage:
    """Quantization state of one ``linear`` op of an ML program."""

    name: str
    weight_name: str
    weight_producer: str
    input_dequantized: bool

    @property
    def is_attention_projection(self) -> bool:
        return "self_attention" in self.weight_name


def linear_coverage(model: ct.models.MLModel) -> list[LinearCoverage]:
    function = model._mil_program.functions["main"]
    coverage = []
    for op in function.operations:
        if op.op_type != "linear":
            continue
        weight: Var = op.inputs["weight"]
        x: Var = op.inputs["x"]
        coverage.append(
            LinearCoverage(
                name=op.name,
                weight_name=weight.name,
                weight_producer=weight.op.op_type,
                input_dequantized=x.op is not None and x.op.op_type == "dequantize",
            )
        )
    return coverage


def count_ops(model: ct.models.MLModel, op_type: str) -> int:
    operations: list[Operation] = model._mil_program.functions["main"].operations
    return sum(op.op_type == op_type for op in operations)


def _fail(variant: str, problem: str) -> None:
    raise RuntimeError(f"{variant}: {problem}. samples/README.md describes the expected program.")


def check_torch_w8a8(model: ct.models.MLModel, size: VitSize) -> None:
    """Check that the attention projections stay FP16 and the other linears are W8A8."""
    linears = linear_coverage(model)
    attention = [linear for linear in linears if linear.is_attention_projection]
    others = [linear for linear in linears if not linear.is_attention_projection]
    if len(attention) != 2 * size.num_layers:
        _fail("w8a8_torch_macos14", f"expected {2 * size.num_layers} attention projections")
    for linear in attention:
        if linear.weight_producer != "const" or linear.input_dequantized:
            _fail("w8a8_torch_macos14", f"attention projection {linear.name} is quantized")
    for linear in others:
        if linear.weight_producer != "constexpr_affine_dequantize" or not linear.input_dequantized:
            _fail("w8a8_torch_macos14", f"linear {linear.name} is not W8A8")


def check_coreml_w8a8(model: ct.models.MLModel, variant: str) -> None:
    """Check that every linear has an int8 weight and an input through quantize/dequantize."""
    for linear in linear_coverage(model):
        if linear.weight_producer != "constexpr_affine_dequantize":
            _fail(variant, f"linear {linear.name} has no int8 weight")
        if not linear.input_dequantized:
            _fail(variant, f"linear {linear.name} has no quantize/dequantize on its input")


def check_fused_attention(model: ct.models.MLModel, size: VitSize) -> None:
    fused = count_ops(model, "scaled_dot_product_attention")
    if fused != size.num_layers:
        _fail(
            "fp16_macos15", f"found {fused} scaled_dot_product_attention ops, not {size.num_layers}"
        )


def check_sparsity(model: ct.models.MLModel, minimum: float) -> None:
    """Check that each sparse weight has at least ``minimum`` zeros."""
    for op in model._mil_program.functions["main"].operations:
        if op.op_type != "constexpr_sparse_to_dense":
            continue
        mask = np.asarray(op.inputs["mask"].val)
        sparsity = 1.0 - np.count_nonzero(mask) / mask.size
        if sparsity < minimum:
            _fail("pruned50_macos15", f"{op.name} has sparsity {sparsity:.3f} < {minimum}")


def log_coverage(variant: str, model: ct.models.MLModel) -> None:
    linears = linear_coverage(model)
    producers = sorted({linear.weight_producer for linear in linears})
    LOGGER.info(
        "%s: %d linear ops, weight producers %s, %d with a dequantized input, "
        "%d quantize ops, %d dequantize ops",
        variant,
        len(linears),
        producers,
        sum(linear.input_dequantized for linear in linears),
        count_ops(model, "quantize"),
        count_ops(model, "dequantize"),
    )


# --- Saving --------------------------------------------------------------------------------------


def save_variant(
    model: ct.models.MLModel,
    size: VitSize,
    variant: str,
    out: Path,
    extra: dict[str, str] | None = None,
) -> Path:
    """Set the variant's description and metadata and write the package, replacing an old one."""
    model.short_description = VARIANT_DESCRIPTIONS[variant]
    metadata = model.user_defined_metadata
    metadata["mlinspect.variant"] = variant
    metadata["mlinspect.source"] = size.describe()
    for key, value in (extra or {}).items():
        metadata[key] = value
    path = out / f"vit_{size.name}_{variant}.mlpackage"
    if path.exists():
        shutil.rmtree(path)
    model.save(str(path))
    log_coverage(variant, model)
    LOGGER.info("wrote %s", path)
    return path


# --- Driver --------------------------------------------------------------------------------------


def make_coreml_w8a8(
    fp16_model: ct.models.MLModel,
    reference: torch.nn.Module,
    images: torch.Tensor,
) -> tuple[str, ct.models.MLModel, dict[str, str]]:
    """Quantize activations, then weights, of the FP16 macOS 14 model.

    Returns the variant name, the model and extra metadata. Activations go first, as in the
    coremltools 9.0 docstring of ``linear_quantize_activations``, so that calibration runs on the
    float model.
    """
    if sys.platform == "darwin":
        # NOTE: this branch (real Core ML calibration) has not been run; it needs macOS.
        activation_quantized = quantize_activations_int8(fp16_model, images, None)
        metadata = {
            "mlinspect.activation_ranges": (
                f"calibrated: coremltools.optimize.coreml.linear_quantize_activations ran Core ML "
                f"on {len(images)} random N(0, 1) images (seed {SEED + 1})."
            )
        }
        return "w8a8_coreml_macos14", quantize_weights_int8(activation_quantized), metadata

    ranges = EvaluatedRanges(fp16_model._mil_program.functions["main"], reference)
    activation_quantized = quantize_activations_int8(fp16_model, images, ranges)
    metadata = {"mlinspect.activation_ranges": ranges.describe()}
    return "w8a8_coreml_uncalibrated_macos14", quantize_weights_int8(activation_quantized), metadata


def make_samples(size: VitSize, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    model = build_vit(size)
    example = make_images(size, 1, SEED)
    batches = calibration_batches(size)
    written = []

    LOGGER.info("converting the FP16 models")
    traced = trace(model, example)
    fp16_macos14 = convert(traced, size, ct.target.macOS14)
    fp16_macos15 = convert(traced, size, ct.target.macOS15)
    check_fused_attention(fp16_macos15, size)

    LOGGER.info("quantizing with coremltools.optimize.coreml")
    w8 = quantize_weights_int8(fp16_macos14)
    calibration_images = torch.cat(batches)
    w8a8_variant, w8a8, w8a8_metadata = make_coreml_w8a8(fp16_macos14, model, calibration_images)
    check_coreml_w8a8(w8a8, w8a8_variant)

    LOGGER.info("quantizing with coremltools.optimize.torch")
    torch_w8a8 = convert(
        trace(quantize_with_torch(model, batches), example), size, ct.target.macOS14
    )
    check_torch_w8a8(torch_w8a8, size)

    LOGGER.info("palettizing and pruning the macOS 15 model")
    palettized = palettize_4bit(fp16_macos15)
    pruned = prune_half(fp16_macos15)
    # Ties at the median magnitude are pruned too, so sparsity is at least 0.5 up to rounding.
    check_sparsity(pruned, minimum=0.49)

    written.append(save_variant(fp16_macos14, size, "fp16_macos14", out))
    written.append(save_variant(torch_w8a8, size, "w8a8_torch_macos14", out))
    written.append(save_variant(w8a8, size, w8a8_variant, out, w8a8_metadata))
    written.append(save_variant(w8, size, "w8_coreml_macos14", out))
    written.append(save_variant(fp16_macos15, size, "fp16_macos15", out))
    written.append(save_variant(palettized, size, "palettized4_macos15", out))
    written.append(save_variant(pruned, size, "pruned50_macos15", out))
    return written


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="tiny",
        help="model size: tiny (2 layers, hidden 64, image 32) or base (ViT-B/16); default tiny",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder for the .mlpackage folders; default: the folder of this script",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # coremltools logs every converted and removed op at INFO, so only this script logs at INFO.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    LOGGER.setLevel(logging.INFO)
    make_samples(SIZES[args.size], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
