"""Op categories: which kind of work an op type does."""

from __future__ import annotations

MATMUL = "matmul"
ATTENTION = "attention"
CONV = "conv"
ACTIVATION_QUANT = "activation_quantization"
WEIGHT_DECOMPRESSION = "weight_decompression"
NORMALIZATION = "normalization"
ACTIVATION = "activation"
ELEMENTWISE = "elementwise"
REDUCTION = "reduction"
POOLING = "pooling"
DATA_MOVEMENT = "data_movement"
CONTROL_FLOW = "control_flow"
CONST = "const"
OTHER = "other"

# Categories in the order reports list them.
CATEGORIES = (
    MATMUL,
    ATTENTION,
    CONV,
    ACTIVATION_QUANT,
    WEIGHT_DECOMPRESSION,
    NORMALIZATION,
    ACTIVATION,
    ELEMENTWISE,
    REDUCTION,
    POOLING,
    DATA_MOVEMENT,
    CONTROL_FLOW,
    CONST,
    OTHER,
)

# Categories whose ops do the model's arithmetic and carry weights worth quantizing.
COMPUTE_CATEGORIES = (MATMUL, ATTENTION, CONV)

_BY_TYPE: dict[str, str] = {}


def _register(category: str, *op_types: str) -> None:
    for op_type in op_types:
        _BY_TYPE[op_type] = category


_register(MATMUL, "matmul", "linear", "einsum")
_register(ATTENTION, "scaled_dot_product_attention")
_register(CONV, "conv", "conv_transpose")
_register(ACTIVATION_QUANT, "quantize", "dequantize")
_register(CONST, "const")
_register(
    NORMALIZATION,
    "layer_norm", "batch_norm", "instance_norm", "l2_norm", "local_response_norm",
)
_register(
    ACTIVATION,
    "relu", "relu6", "gelu", "silu", "sigmoid", "sigmoid_hard", "softmax", "softplus",
    "softplus_parametric", "softsign", "tanh", "elu", "leaky_relu", "prelu", "linear_activation",
    "scaled_tanh", "thresholded_relu", "clamped_relu", "erf",
)
_register(
    ELEMENTWISE,
    "add", "sub", "mul", "real_div", "floor_div", "mod", "pow", "maximum", "minimum",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "abs", "ceil", "floor", "round", "sign", "sqrt", "rsqrt", "inverse", "exp", "exp2", "log",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "atanh", "square",
    "clip", "threshold", "select",
)
_register(
    REDUCTION,
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_argmax",
    "reduce_argmin", "reduce_l1_norm", "reduce_l2_norm", "reduce_log_sum", "reduce_log_sum_exp",
    "reduce_sum_square", "cumsum", "topk", "argsort",
)
_register(POOLING, "avg_pool", "max_pool", "l2_pool")
_register(
    DATA_MOVEMENT,
    "reshape", "transpose", "slice_by_index", "slice_by_size", "squeeze", "expand_dims",
    "concat", "split", "stack", "gather", "gather_nd", "gather_along_axis", "scatter",
    "scatter_nd", "scatter_along_axis", "tile", "pad", "reverse", "reverse_sequence",
    "pixel_shuffle", "pixel_unshuffle", "space_to_depth", "depth_to_space", "space_to_batch",
    "batch_to_space", "sliding_windows", "flatten2d", "reshape_like", "shape", "cast",
    "identity", "fill", "fill_like", "range_1d", "one_hot", "band_part", "upsample_nearest_neighbor",
    "upsample_bilinear", "resize_nearest_neighbor", "resize_bilinear", "resize", "crop",
    "crop_resize", "non_zero", "list_gather", "list_scatter", "list_read", "list_write",
    "list_length", "make_list", "read_state", "coreml_update_state", "write_state",
)
_register(CONTROL_FLOW, "cond", "while_loop", "select_op")


def category_of(op_type: str) -> str:
    """Return the category of an op type; every `constexpr_*` op decompresses weights at load time."""
    if op_type.startswith("constexpr_"):
        return WEIGHT_DECOMPRESSION
    return _BY_TYPE.get(op_type, OTHER)
