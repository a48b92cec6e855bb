"""Generate large synthetic Core ML packages for the benchmarks and the large-model tests.

`transformer_package(ops)` builds one transformer-like layer with coremltools'
MIL builder (attention, MLP, layer norms and a `cond` with nested blocks) and
converts it without optimization passes. It then replicates the layer's op
protobufs with renamed values until the program has about `ops` ops, spread
over three functions that share their weights. Replication takes under a
second for 50,000 ops, and every op stays one that coremltools wrote.

`wide_mlp_package(weight_bytes)` builds a chain of linears whose declared
width makes the weights add up to about `weight_bytes`, in a sparse weight.bin.

In both, weight.bin is rewritten so that every blob reference gets its own
valid metadata record (sentinel, dtype code, size, data offset). The data
regions are holes made by seeking, so a package that declares 8 GB of weights
takes a few MB on disk. Packages are cached under MLINSPECT_BENCH_CACHE
(default: a folder in the system temp directory).
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

# Bump when the generated programs change, so that stale cached packages are not reused.
GENERATOR_VERSION = 1
MODEL_FILE = Path("Data") / "com.apple.CoreML" / "model.mlmodel"
WEIGHT_FILE = Path("Data") / "com.apple.CoreML" / "weights" / "weight.bin"
FUNCTIONS = ("main", "prefill", "decode")

_HEADER = struct.Struct("<II")
_METADATA = struct.Struct("<IIQQQ")
_SENTINEL = 0xDEADBEEF
_ALIGNMENT = 64

# Layer sizes: sequence length, hidden size, attention heads, MLP size.
_SEQUENCE, _HIDDEN, _HEADS, _MLP = 8, 32, 2, 64
# The width of the MLP chain before its shapes are widened; no other dimension has this size.
_NARROW = 37
_MLP_LAYERS = 8


def cache_folder() -> Path:
    folder = Path(os.environ.get("MLINSPECT_BENCH_CACHE", Path(tempfile.gettempdir()) / "mlinspect-bench-cache"))
    folder = folder / f"v{GENERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cached(name: str, build: Callable[[Path], None]) -> Path:
    """Return the cached package `name`, building it into a temporary folder first if it is missing."""
    path = cache_folder() / name
    if path.exists():
        return path
    staging = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=path.parent))
    try:
        build(staging / name)
        os.replace(staging / name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def build_in_subprocess(transformers: tuple[int, ...] = (), wide_mlps: tuple[int, ...] = ()) -> None:
    """Build (or find cached) packages in a child process, so that the caller never imports coremltools.

    The benchmarks measure peak RSS in child processes, and on Linux a child
    inherits the peak RSS its parent had when it forked, so the parent stays small.
    """
    import subprocess
    import sys

    arguments = [f"transformer={count}" for count in transformers] + [f"wide_mlp={size}" for size in wide_mlps]
    result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building the synthetic packages failed:\n{result.stderr}")


def transformer_package(ops: int) -> Path:
    """Return a package of three functions with about `ops` ops in all (consts and nested ops included)."""
    return _cached(f"transformer_{ops}.mlpackage", lambda path: _build_transformer(path, ops))


def wide_mlp_package(weight_bytes: int) -> Path:
    """Return a package of linears whose declared fp16 weights and biases add up to about `weight_bytes`."""
    return _cached(f"wide_mlp_{weight_bytes}.mlpackage", lambda path: _build_wide_mlp(path, weight_bytes))


# ---------------------------------------------------------------- transformer


def _layer_program() -> Any:
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    rng = np.random.default_rng(0)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float16)

    head = _HIDDEN // _HEADS

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, _SEQUENCE, _HIDDEN), dtype=types.fp16)], opset_version=ct.target.iOS18)
    def program(x):
        ones, zeros = np.ones(_HIDDEN, np.float16), np.zeros(_HIDDEN, np.float16)
        normed = mb.layer_norm(x=x, axes=[-1], gamma=ones, beta=zeros, epsilon=np.float16(1e-5), name="ln1")

        def heads(name: str) -> Any:
            projected = mb.linear(x=normed, weight=weight(_HIDDEN, _HIDDEN), bias=weight(_HIDDEN), name=name)
            split = mb.reshape(x=projected, shape=[1, _SEQUENCE, _HEADS, head])
            return mb.transpose(x=split, perm=[0, 2, 1, 3])

        query, key, value = heads("q_proj"), heads("k_proj"), heads("v_proj")
        scores = mb.matmul(x=query, y=key, transpose_y=True)
        scores = mb.mul(x=scores, y=np.float16(head**-0.5))
        attention = mb.matmul(x=mb.softmax(x=scores, axis=-1), y=value)
        merged = mb.reshape(x=mb.transpose(x=attention, perm=[0, 2, 1, 3]), shape=[1, _SEQUENCE, _HIDDEN])
        hidden = mb.add(x=x, y=mb.linear(x=merged, weight=weight(_HIDDEN, _HIDDEN), bias=weight(_HIDDEN), name="o_proj"))

        normed2 = mb.layer_norm(x=hidden, axes=[-1], gamma=ones, beta=zeros, epsilon=np.float16(1e-5), name="ln2")
        up = mb.gelu(x=mb.linear(x=normed2, weight=weight(_MLP, _HIDDEN), bias=weight(_MLP), name="fc_up"))
        hidden = mb.add(x=hidden, y=mb.linear(x=up, weight=weight(_HIDDEN, _MLP), bias=weight(_HIDDEN), name="fc_down"))

        positive = mb.greater(x=mb.reduce_mean(x=hidden, axes=[0, 1, 2]), y=np.float16(0))
        return mb.cond(
            pred=positive,
            _true_fn=lambda: mb.mul(x=hidden, y=np.float16(0.5)),
            _false_fn=lambda: mb.sub(x=hidden, y=np.float16(0.5)),
            name="out",
        )

    return program


def _convert(program: Any) -> Any:
    import coremltools as ct

    return ct.convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS18,
        pass_pipeline=ct.PassPipeline.EMPTY,
    )


def _build_transformer(path: Path, target_ops: int) -> None:
    from coremltools.proto import Model_pb2

    _convert(_layer_program()).save(str(path))
    spec = Model_pb2.Model()
    spec.ParseFromString((path / MODEL_FILE).read_bytes())
    function = spec.mlProgram.functions["main"]
    block = function.block_specializations[function.opset]
    template = list(block.operations)
    per_layer = sum(1 for _ in _walk(template))
    layers = max(1, round(target_ops / (per_layer * len(FUNCTIONS))))

    _replicate(block, template, layers, input_name=function.inputs[0].name, output_name=block.outputs[0])
    _rewrite_weights(path / WEIGHT_FILE, [spec], lambda reference, declared: declared)
    _copy_functions(spec, FUNCTIONS[1:])
    (path / MODEL_FILE).write_bytes(spec.SerializeToString())


def _walk(operations: Any) -> Iterator[Any]:
    for operation in operations:
        yield operation
        for nested in operation.blocks:
            yield from _walk(nested.operations)


def _replicate(block: Any, template: list[Any], layers: int, input_name: str, output_name: str) -> None:
    """Replace the block's ops with `layers` copies of `template`, each copy reading the previous one's output."""
    template = [type(op)() for op in template]
    for copy, original in zip(template, block.operations):
        copy.CopyFrom(original)
    del block.operations[:]

    defined = _defined(template)
    previous = input_name
    for layer in range(layers):
        last = layer == layers - 1
        renamed = {name: (name if last and name == output_name else f"{name}_l{layer}") for name in defined}
        renamed[input_name] = previous
        for original in template:
            operation = block.operations.add()
            operation.CopyFrom(original)
            _rename(operation, renamed)
        previous = renamed[output_name]


def _defined(operations: list[Any]) -> set[str]:
    names = set()
    for operation in _walk(operations):
        names.update(output.name for output in operation.outputs)
        for nested in operation.blocks:
            names.update(value.name for value in nested.inputs)
    return names


def _rename(operation: Any, renamed: dict[str, str]) -> None:
    for output in operation.outputs:
        output.name = renamed.get(output.name, output.name)
    for argument in operation.inputs.values():
        for binding in argument.arguments:
            if binding.WhichOneof("binding") == "name":
                binding.name = renamed.get(binding.name, binding.name)
    if "name" in operation.attributes:
        strings = operation.attributes["name"].immediateValue.tensor.strings.values
        if strings:
            strings[0] = renamed.get(strings[0], strings[0])
    for nested in operation.blocks:
        for value in nested.inputs:
            value.name = renamed.get(value.name, value.name)
        for index, name in enumerate(nested.outputs):
            nested.outputs[index] = renamed.get(name, name)
        for inner in nested.operations:
            _rename(inner, renamed)


def _copy_functions(spec: Any, names: tuple[str, ...]) -> None:
    """Add functions that are copies of "main" (sharing its blobs), and describe each in the model description."""
    main = spec.mlProgram.functions["main"]
    description = spec.description
    if not description.functions:
        described = description.functions.add()
        described.name = "main"
        described.input.extend(description.input)
        described.output.extend(description.output)
        description.defaultFunctionName = "main"
    for name in names:
        spec.mlProgram.functions[name].CopyFrom(main)
        described = description.functions.add()
        described.CopyFrom(description.functions[0])
        described.name = name
    spec.specificationVersion = max(spec.specificationVersion, 9)


# ---------------------------------------------------------------- wide MLP


def _mlp_program() -> Any:
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    rng = np.random.default_rng(1)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, _NARROW), dtype=types.fp16)], opset_version=ct.target.iOS18)
    def program(x):
        for layer in range(_MLP_LAYERS):
            weight = rng.standard_normal((_NARROW, _NARROW)).astype(np.float16)
            bias = rng.standard_normal(_NARROW).astype(np.float16)
            x = mb.relu(x=mb.linear(x=x, weight=weight, bias=bias, name=f"fc{layer}"), name=f"act{layer}")
        return x

    return program


def _build_wide_mlp(path: Path, weight_bytes: int) -> None:
    from coremltools.proto import Model_pb2

    # Each layer stores a width x width fp16 weight and a width fp16 bias.
    width = max(_NARROW + 1, int((weight_bytes / (2 * _MLP_LAYERS)) ** 0.5))
    _convert(_mlp_program()).save(str(path))
    spec = Model_pb2.Model()
    spec.ParseFromString((path / MODEL_FILE).read_bytes())

    for tensor in _tensor_types(spec):
        for dimension in tensor.dimensions:
            if dimension.WhichOneof("dimension") == "constant" and dimension.constant.size == _NARROW:
                dimension.constant.size = width
    for feature in [*spec.description.input, *spec.description.output]:
        shape = feature.type.multiArrayType.shape
        shape[:] = [width if size == _NARROW else size for size in shape]

    _rewrite_weights(path / WEIGHT_FILE, [spec], _packed_size)
    (path / MODEL_FILE).write_bytes(spec.SerializeToString())


def _tensor_types(spec: Any) -> Iterator[Any]:
    """Yield every TensorType of the program: op outputs, literal types and function inputs."""
    for function in spec.mlProgram.functions.values():
        for value in function.inputs:
            yield value.type.tensorType
        for block in function.block_specializations.values():
            for operation in _walk(block.operations):
                for output in operation.outputs:
                    yield output.type.tensorType
                for value in operation.attributes.values():
                    yield value.type.tensorType


def _packed_size(reference: Any, declared: tuple[int, int]) -> tuple[int, int]:
    """Return (dtype code, bytes) for a reference from its declared fp16 type (the MLP's only dtype)."""
    code, _ = declared
    elements = int(np.prod([d.constant.size for d in reference.type.tensorType.dimensions]))
    return code, elements * 2


# ---------------------------------------------------------------- sparse weight file


def _references(spec: Any) -> Iterator[tuple[Any, Any]]:
    """Yield (literal Value message, its BlobFileValue) for every blob reference of every function."""
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            for operation in _walk(block.operations):
                for value in operation.attributes.values():
                    if value.HasField("blobFileValue"):
                        yield value, value.blobFileValue
                for argument in operation.inputs.values():
                    for binding in argument.arguments:
                        if binding.WhichOneof("binding") == "value" and binding.value.HasField("blobFileValue"):
                            yield binding.value, binding.value.blobFileValue


def _rewrite_weights(weight_file: Path, specs: list[Any], size: Callable[[Any, tuple[int, int]], tuple[int, int]]) -> None:
    """Give every blob reference its own blob in a new, sparse weight file.

    size(literal, (dtype code, bytes) from the old metadata) returns the new
    blob's dtype code and size. Only the header and the metadata records are
    written: the data regions stay holes, which read as zeros.
    """
    with open(weight_file, "rb") as old:
        original = old.read()

    def old_metadata(offset: int) -> tuple[int, int]:
        _, code, nbytes, _, _ = _METADATA.unpack_from(original, offset)
        return code, nbytes

    references = [(value, reference) for spec in specs for value, reference in _references(spec)]
    with open(weight_file, "wb") as new:
        new.write(_HEADER.pack(len(references), 2).ljust(_ALIGNMENT, b"\0"))
        position = _ALIGNMENT
        for value, reference in references:
            code, nbytes = size(value, old_metadata(reference.offset))
            data_offset = position + _ALIGNMENT
            new.seek(position)
            new.write(_METADATA.pack(_SENTINEL, code, nbytes, data_offset, 0).ljust(_ALIGNMENT, b"\0"))
            reference.offset = position
            position = -(-(data_offset + nbytes) // _ALIGNMENT) * _ALIGNMENT
        new.truncate(position)


if __name__ == "__main__":
    import sys

    # Arguments such as `transformer=50000 wide_mlp=8000000000`; each built package's path is printed.
    builders = {"transformer": transformer_package, "wide_mlp": wide_mlp_package}
    for argument in sys.argv[1:]:
        kind, _, size = argument.partition("=")
        print(builders[kind](int(size)))
