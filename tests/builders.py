"""Build tiny real Core ML models with coremltools, and read saved models back without mlinspect.

Each `build_*` function writes one model form into `folder` and returns its
path. Shapes stay tiny so that every build takes well under a second.
coremltools is imported inside the functions because importing it costs
about 0.4 s (measured on the 2-core Linux test machine with `time python -c`)
and prints warnings about its missing native runtime.

The `read_*` and `count_*` helpers parse the saved protobuf and weight files
directly, so tests can compare mlinspect's records with an independent reading.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = Path("Data") / "com.apple.CoreML" / "model.mlmodel"
WEIGHT_FILE = Path("Data") / "com.apple.CoreML" / "weights" / "weight.bin"

# Compression schemes that `build_compressed` accepts, with the targets each is built for.
COMPRESSION_SCHEMES = (
    "int8",
    "int4_block",
    "palettize4",
    "palettize2",
    "prune",
    "prune_palettize4",
)
COMPRESSED_FORMS = (
    ("int8", "iOS16"),
    ("palettize4", "iOS17"),
    ("palettize2", "iOS16"),
    ("prune", "iOS17"),
    ("int8", "iOS18"),
    ("int4_block", "iOS18"),
    ("palettize4", "iOS18"),
    ("palettize2", "iOS18"),
    ("prune", "iOS18"),
    ("prune_palettize4", "iOS18"),
)

BLOB_HEADER_SIZE = 64
BLOB_SENTINEL = 0xDEADBEEF
# Blob metadata: sentinel, dtype code, data size in bytes, data offset, padding bits.
BLOB_METADATA = struct.Struct("<IIQQQ")
# Codes of MILBlob's BlobDataType enum (coremltools mlmodel/src/MILBlob/Blob/BlobDataType.hpp).
BLOB_DTYPE_NAMES = {
    1: "fp16",
    2: "fp32",
    3: "uint8",
    4: "int8",
    5: "bf16",
    6: "int16",
    7: "uint16",
    8: "int4",
    9: "uint1",
    10: "uint2",
    11: "uint4",
    12: "uint3",
    13: "uint6",
    14: "int32",
    15: "uint32",
    16: "fp8e4m3fn",
    17: "fp8e5m2",
}


def _target(name: str) -> Any:
    import coremltools as ct

    return getattr(ct.target, name)


def _convert(program: Any, target: str, **options: Any) -> Any:
    import coremltools as ct

    return ct.convert(
        program, convert_to="mlprogram", minimum_deployment_target=_target(target), **options
    )


def _linear_program(target: str, name: str = "lin", size: int = 8, seed: int = 0) -> Any:
    """Return a MIL program `relu(linear(x))` whose weight (size x size) goes to weight.bin."""
    from coremltools.converters.mil import Builder as mb

    weight = np.random.default_rng(seed).standard_normal((size, size)).astype(np.float32)
    bias = np.linspace(-1.0, 1.0, size, dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, size))], opset_version=_target(target))
    def program(x):
        return mb.relu(x=mb.linear(x=x, weight=weight, bias=bias, name=name), name=f"{name}_relu")

    return program


def build_plain(folder: Path, target: str = "iOS16") -> Path:
    """Build an ML program package with one linear whose fp16 weight and bias live in weight.bin."""
    path = folder / f"plain_{target}.mlpackage"
    _convert(_linear_program(target, size=16), target).save(str(path))
    return path


def build_single_file(folder: Path) -> Path:
    """Build a single-file `.mlmodel` ML program whose consts are all immediate values.

    coremltools (9.0) keeps a const immediate when it has fewer than 10
    elements, so a 2x4 weight and fp32 precision keep the whole program in the file.
    """
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    weight = np.arange(8, dtype=np.float32).reshape(2, 4)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4))], opset_version=_target("iOS16"))
    def program(x):
        return mb.linear(x=x, weight=weight, name="lin")

    model = _convert(program, "iOS16", compute_precision=ct.precision.FLOAT32)
    path = folder / "single.mlmodel"
    path.write_bytes(model.get_spec().SerializeToString())
    return path


def build_single_file_with_blobs(folder: Path) -> Path:
    """Build a single-file `.mlmodel` from a program with large consts, without its weight file.

    coremltools (9.0) raises an error when saving an ML program as `.mlmodel`, and the spec
    written by hand still references `@model_path/weights/weight.bin`, a file
    that only exists inside the package coremltools made during conversion.
    """
    model = _convert(_linear_program("iOS16", size=16), "iOS16")
    path = folder / "single_with_blobs.mlmodel"
    path.write_bytes(model.get_spec().SerializeToString())
    return path


def build_pipeline(folder: Path) -> Path:
    """Build a pipeline package of two ML programs, where the second consumes the first's output."""
    import coremltools as ct

    first = _convert(_linear_program("iOS16", name="first", seed=1), "iOS16")
    second = _convert(_linear_program("iOS16", name="second", seed=2), "iOS16")
    first_output = first.get_spec().description.output[0].name
    second_spec = second.get_spec()
    ct.utils.rename_feature(second_spec, "x", first_output)
    second = ct.models.MLModel(second_spec, weights_dir=second.weights_dir)

    path = folder / "pipeline.mlpackage"
    ct.utils.make_pipeline(first, second).save(str(path))
    return path


def build_multifunction(folder: Path) -> Path:
    """Build a package with functions "encode" and "decode" (the default) from two single-function packages."""
    import coremltools as ct

    parts = folder / "multifunction_parts"
    parts.mkdir(exist_ok=True)
    encode = parts / "encode.mlpackage"
    decode = parts / "decode.mlpackage"
    _convert(_linear_program("iOS18", name="enc", seed=3), "iOS18").save(str(encode))
    _convert(_linear_program("iOS18", name="dec", seed=4), "iOS18").save(str(decode))

    descriptor = ct.utils.MultiFunctionDescriptor()
    descriptor.add_function(str(encode), src_function_name="main", target_function_name="encode")
    descriptor.add_function(str(decode), src_function_name="main", target_function_name="decode")
    descriptor.default_function_name = "decode"
    path = folder / "multifunction.mlpackage"
    ct.utils.save_multifunction(descriptor, str(path))
    return path


def build_shared_weights(folder: Path, quantized: bool) -> Path:
    """Build a package whose functions "first" and "second" are one program, so they share every blob.

    save_multifunction stores a weight once when two functions hold equal
    values. With `quantized`, the program's weights are int8 (linear
    quantization of every weight, whatever its size).
    """
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    kind = "int8" if quantized else "fp16"
    source = folder / f"shared_source_{kind}.mlpackage"
    model = _convert(_linear_program("iOS18", size=64, seed=5), "iOS18")
    if quantized:
        config = cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(weight_threshold=0))
        model = cto.linear_quantize_weights(model, config)
    model.save(str(source))

    descriptor = ct.utils.MultiFunctionDescriptor()
    descriptor.add_function(str(source), src_function_name="main", target_function_name="first")
    descriptor.add_function(str(source), src_function_name="main", target_function_name="second")
    descriptor.default_function_name = "first"
    path = folder / f"shared_weights_{kind}.mlpackage"
    ct.utils.save_multifunction(descriptor, str(path))
    return path


def build_stateful(folder: Path) -> Path:
    """Build an iOS18 package with state "accumulator": read_state, add, coreml_update_state."""
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    input_specs = [
        mb.StateTensorSpec((1, 4), dtype=types.fp16),
        mb.TensorSpec((1, 4), dtype=types.fp16),
    ]

    @mb.program(input_specs=input_specs, opset_version=_target("iOS18"))
    def program(accumulator, x):
        total = mb.add(x=mb.read_state(input=accumulator), y=x, name="total")
        mb.coreml_update_state(state=accumulator, value=total, name="update")
        return mb.mul(x=total, y=np.float16(2), name="out")

    path = folder / "stateful.mlpackage"
    _convert(program, "iOS18").save(str(path))
    return path


def build_flexible(folder: Path, flexibility: str) -> Path:
    """Build a package whose input "x" has a flexible last dimension: "range" (1..16) or "enumerated"."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import get_new_symbol

    @mb.program(
        input_specs=[mb.TensorSpec(shape=(1, get_new_symbol()))], opset_version=_target("iOS16")
    )
    def program(x):
        return mb.relu(x=x, name="out")

    if flexibility == "range":
        shape = ct.Shape(shape=(1, ct.RangeDim(lower_bound=1, upper_bound=16, default=4)))
    elif flexibility == "enumerated":
        shape = ct.EnumeratedShapes(shapes=[(1, 2), (1, 4), (1, 8)], default=(1, 4))
    else:
        raise ValueError(f"unknown flexibility {flexibility!r}: expected 'range' or 'enumerated'")

    path = folder / f"flexible_{flexibility}.mlpackage"
    _convert(program, "iOS16", inputs=[ct.TensorType(name="x", shape=shape)]).save(str(path))
    return path


def build_control_flow(folder: Path) -> Path:
    """Build a package with a `cond` (relu or sigmoid branch) feeding a `while_loop` that doubles it."""
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    input_specs = [mb.TensorSpec((1, 4)), mb.TensorSpec((1,), dtype=types.int32)]

    @mb.program(input_specs=input_specs, opset_version=_target("iOS16"))
    def program(x, n):
        positive = mb.greater(x=mb.reduce_sum(x=x), y=0.0)
        branch = mb.cond(
            pred=positive,
            _true_fn=lambda: mb.relu(x=x, name="then_relu"),
            _false_fn=lambda: mb.sigmoid(x=x, name="else_sigmoid"),
            name="branch",
        )

        def loop_test(i, value):
            return mb.less(x=i, y=mb.squeeze(x=n), name="loop_test")

        def loop_body(i, value):
            return mb.add(x=i, y=1, name="loop_next"), mb.mul(x=value, y=2.0, name="loop_double")

        _, result = mb.while_loop(
            _cond=loop_test, _body=loop_body, loop_vars=(np.int32(0), branch), name="loop"
        )
        return mb.identity(x=result, name="out")

    path = folder / "control_flow.mlpackage"
    _convert(program, "iOS16").save(str(path))
    return path


def build_specializations(folder: Path) -> Path:
    """Build a package whose function "main" has block specializations for CoreML7 and CoreML8.

    coremltools (9.0) writes a single specialization per function, so the
    CoreML8 block is a copy of the CoreML7 one written through the protobuf
    into the saved model.mlmodel, with its relu swapped for a sigmoid so the
    two blocks differ. The function's opset stays CoreML7.
    """
    path = folder / "specializations.mlpackage"
    _convert(_linear_program("iOS17", size=16), "iOS17").save(str(path))

    spec = read_spec(path)
    function = spec.mlProgram.functions["main"]
    second = function.block_specializations["CoreML8"]
    second.CopyFrom(function.block_specializations["CoreML7"])
    for operation in second.operations:
        if operation.type == "relu":
            operation.type = "sigmoid"
    (path / MODEL_FILE).write_bytes(spec.SerializeToString())
    return path


def build_compressed(folder: Path, scheme: str, target: str) -> Path:
    """Build a package with a 32x32 linear weight compressed by `scheme` (see COMPRESSION_SCHEMES).

    Before iOS18 the constexpr ops hold their blob references as attributes;
    from iOS18 on they take them as inline op inputs.
    """
    import coremltools.optimize.coreml as cto

    model = _convert(_linear_program(target, size=32), target)
    # weight_threshold=0 compresses even these tiny weights. Palettization uses
    # "uniform" mode because "kmeans" needs scikit-learn, which is not installed.
    if scheme == "int8":
        op_config = cto.OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", weight_threshold=0
        )
        model = cto.linear_quantize_weights(model, cto.OptimizationConfig(global_config=op_config))
    elif scheme == "int4_block":
        op_config = cto.OpLinearQuantizerConfig(
            mode="linear_symmetric",
            dtype="int4",
            granularity="per_block",
            block_size=8,
            weight_threshold=0,
        )
        model = cto.linear_quantize_weights(model, cto.OptimizationConfig(global_config=op_config))
    elif scheme in ("palettize4", "palettize2"):
        nbits = int(scheme[-1])
        op_config = cto.OpPalettizerConfig(nbits=nbits, mode="uniform", weight_threshold=0)
        model = cto.palettize_weights(model, cto.OptimizationConfig(global_config=op_config))
    elif scheme in ("prune", "prune_palettize4"):
        op_config = cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=0)
        model = cto.prune_weights(model, cto.OptimizationConfig(global_config=op_config))
        if scheme == "prune_palettize4":
            op_config = cto.OpPalettizerConfig(nbits=4, mode="uniform", weight_threshold=0)
            config = cto.OptimizationConfig(global_config=op_config)
            model = cto.palettize_weights(model, config, joint_compression=True)
    else:
        raise ValueError(
            f"unknown compression scheme {scheme!r}: expected one of {COMPRESSION_SCHEMES}"
        )

    path = folder / f"{scheme}_{target}.mlpackage"
    model.save(str(path))
    return path


def build_neural_network(folder: Path) -> Path:
    """Build a neural-network (pre-ML-program) `.mlmodel` with an inner product and a ReLU."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    weight = np.ones((4, 8), dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 8))])
    def program(x):
        return mb.relu(x=mb.linear(x=x, weight=weight, name="lin"), name="out")

    path = folder / "neural_network.mlmodel"
    ct.convert(program, convert_to="neuralnetwork").save(str(path))
    return path


def read_spec(path: Path) -> Any:
    """Parse the model file of a package (or a single `.mlmodel`) with coremltools' own protobuf classes."""
    from coremltools.proto import Model_pb2

    model_file = path / MODEL_FILE if path.is_dir() else path
    spec = Model_pb2.Model()
    spec.ParseFromString(model_file.read_bytes())
    return spec


def walk_block(block: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (block path, op message) for each op of a block message, descending into nested blocks.

    Block paths follow mlinspect's convention: a nested block is
    "<parent path>/<first output name>.<block index>".
    """
    for operation in block.operations:
        yield path, operation
        for index, nested in enumerate(operation.blocks):
            yield from walk_block(nested, f"{path}/{operation.outputs[0].name}.{index}")


def count_op_types(block: Any) -> Counter[str]:
    """Count op types of a block message, nested blocks included."""
    return Counter(operation.type for _, operation in walk_block(block, ""))


def blob_values(operation: Any) -> Iterator[Any]:
    """Yield each protobuf `Value` of one op, inline input or attribute, that references a blob."""
    for argument in operation.inputs.values():
        for binding in argument.arguments:
            if binding.WhichOneof("binding") == "value" and binding.value.HasField("blobFileValue"):
                yield binding.value
    for value in operation.attributes.values():
        if value.HasField("blobFileValue"):
            yield value


def blob_references(block: Any) -> Iterator[Any]:
    """Yield the `BlobFileValue` of every blob the ops of a block message reference, nested blocks included."""
    for _, operation in walk_block(block, ""):
        for value in blob_values(operation):
            yield value.blobFileValue


def read_blob_metadata(weight_file: Path, offset: int) -> dict[str, Any]:
    """Read one blob's 64-byte metadata record at `offset` in a weight file."""
    with open(weight_file, "rb") as file:
        file.seek(offset)
        sentinel, code, nbytes, data_offset, padding_bits = BLOB_METADATA.unpack(
            file.read(BLOB_METADATA.size)
        )
    return {
        "sentinel": sentinel,
        "dtype": BLOB_DTYPE_NAMES.get(code, f"code{code}"),
        "nbytes": nbytes,
        "data_offset": data_offset,
        "padding_bits": padding_bits,
    }


def read_blob_count(weight_file: Path) -> int:
    """Read the blob count from the weight file's 64-byte storage header."""
    with open(weight_file, "rb") as file:
        count, _version = struct.unpack("<II", file.read(8))
    return count


def hash_tree(path: Path) -> dict[str, str]:
    """Map every file under `path` (or `path` itself if it is a file) to its SHA-256."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(file.relative_to(path.parent)): hashlib.sha256(file.read_bytes()).hexdigest()
        for file in files
    }
