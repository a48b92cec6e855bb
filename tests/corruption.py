"""Broken variants of a real Core ML package, and runners that record what mlinspect does with each one.

Every variant is made in a fresh work folder that contains the damaged copy
`model.mlpackage` and an `outside/` folder with files that symlinks and paths
in the variant point at. A variant is a `Case`: the path to pass to
mlinspect, the expected outcome, and the file an error message must name.

Two runners execute the real CLI: `run_in_process` through typer's CliRunner
with an audit hook that records every file opened, and `run_subprocess`
(`python -m mlinspect`) under `strace -f -y`, which reports the resolved path
of every file the process opened. Both return an `Outcome` for the same checks.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PACKAGE_NAME = "model.mlpackage"
MODEL_DIR = Path("Data") / "com.apple.CoreML"
MODEL_FILE = MODEL_DIR / "model.mlmodel"
WEIGHT_FILE = MODEL_DIR / "weights" / "weight.bin"
HEADER_SIZE = 64
METADATA = struct.Struct("<IIQQQ")
SENTINEL = 0xDEADBEEF
# Files above this size are compared by size and timestamps plus their first
# and last MiB, so that sparse multi-GB cases are not read in full.
FULL_HASH_LIMIT = 64 << 20
# Wall-time limit for one mlinspect command on one broken package.
TIME_LIMIT_SECONDS = 2.0


class Expect(enum.Enum):
    """Outcome that mlinspect must produce for a variant."""

    ERROR = "error"
    """Exit status 2 with one `mlinspect: error:` line naming the file."""
    WARNING = "warning"
    """Exit status 0, a result, and at least one warning."""
    OK = "ok"
    """Exit status 0 and a result without warnings."""
    ANY = "any"
    """ERROR or a result (with or without warnings): random damage may leave a valid model."""


@dataclass(frozen=True)
class Case:
    """One broken variant: the path to pass to mlinspect and the expected outcome."""

    path: Path
    expect: Expect
    names: Path | None = None
    """File an error must name; None accepts any path under `path`."""


# ---------------------------------------------------------------- the source package


def build_source(folder: Path) -> Path:
    """Build a small ML program package with two linears (weights in weight.bin) and a `cond` with nested blocks."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(7)
    first = rng.standard_normal((16, 16)).astype(np.float32)
    second = rng.standard_normal((8, 16)).astype(np.float32)
    bias = np.linspace(-1.0, 1.0, 16, dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 16))], opset_version=ct.target.iOS17)
    def program(x):
        hidden = mb.relu(x=mb.linear(x=x, weight=first, bias=bias, name="fc1"), name="act1")
        positive = mb.greater(x=mb.reduce_sum(x=hidden), y=0.0, name="positive")
        branch = mb.cond(
            pred=positive,
            _true_fn=lambda: mb.mul(x=hidden, y=2.0, name="double"),
            _false_fn=lambda: mb.sub(x=hidden, y=1.0, name="shift"),
            name="branch",
        )
        return mb.linear(x=branch, weight=second, name="fc2")

    path = folder / "source.mlpackage"
    model = ct.convert(program, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS17)
    model.save(str(path))
    return path


# ---------------------------------------------------------------- helpers for variants


def copy_package(source: Path, work: Path) -> Path:
    package = work / PACKAGE_NAME
    shutil.copytree(source, package, symlinks=True)
    (work / "outside").mkdir(exist_ok=True)
    return package


def outside_copy(package: Path, relative: Path, name: str) -> Path:
    """Copy a file of the package into the work folder's `outside/` and return the copy."""
    target = package.parent / "outside" / name
    shutil.copyfile(package / relative, target)
    return target


def read_spec(package: Path) -> Any:
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString((package / MODEL_FILE).read_bytes())
    return spec


def write_spec(package: Path, spec: Any) -> None:
    (package / MODEL_FILE).write_bytes(spec.SerializeToString())


def edit_spec(package: Path, edit: Callable[[Any], None]) -> None:
    spec = read_spec(package)
    edit(spec)
    write_spec(package, spec)


def main_block(spec: Any) -> Any:
    function = spec.mlProgram.functions["main"]
    return function.block_specializations[function.opset]


def walk_ops(block: Any) -> Iterator[Any]:
    for operation in block.operations:
        yield operation
        for nested in operation.blocks:
            yield from walk_ops(nested)


def blob_references(spec: Any) -> list[Any]:
    """Return every `BlobFileValue` message of the program, in op inputs and attributes."""
    references = []
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            for operation in walk_ops(block):
                for value in operation.attributes.values():
                    if value.HasField("blobFileValue"):
                        references.append(value.blobFileValue)
                for argument in operation.inputs.values():
                    for binding in argument.arguments:
                        if binding.WhichOneof("binding") == "value" and binding.value.HasField("blobFileValue"):
                            references.append(binding.value.blobFileValue)
    return references


def tensor_types(spec: Any) -> Iterator[Any]:
    """Yield every TensorType message of op outputs in the main function."""
    for operation in walk_ops(main_block(spec)):
        for output in operation.outputs:
            if output.type.HasField("tensorType"):
                yield output.type.tensorType


def set_dims(tensor: Any, dims: list[int], rank: int | None = None) -> None:
    del tensor.dimensions[:]
    for size in dims:
        tensor.dimensions.add().constant.size = size
    tensor.rank = len(dims) if rank is None else rank


def set_absurd_rank(spec: Any, rank: int) -> None:
    """Give the first op output `rank` dimensions of size 2 (a few MB of protobuf)."""
    tensor = next(tensor_types(spec))
    dimension = type(tensor.dimensions.add())()
    dimension.constant.size = 2
    del tensor.dimensions[:]
    tensor.dimensions.extend([dimension] * rank)
    tensor.rank = rank


def edit_manifest(package: Path, edit: Callable[[dict], None]) -> None:
    path = package / "Manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def set_root_path(package: Path, root_path: Any) -> None:
    def edit(manifest: dict) -> None:
        manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"] = root_path

    edit_manifest(package, edit)


def first_metadata_offset(package: Path) -> int:
    return min(reference.offset for reference in blob_references(read_spec(package)))


def patch_metadata(package: Path, offset: int, **fields: int) -> None:
    """Overwrite fields (sentinel, code, nbytes, data_offset) of the blob metadata record at `offset`."""
    weight_file = package / WEIGHT_FILE
    data = bytearray(weight_file.read_bytes())
    sentinel, code, nbytes, data_offset, padding = METADATA.unpack_from(data, offset)
    values = {"sentinel": sentinel, "code": code, "nbytes": nbytes, "data_offset": data_offset, **fields}
    METADATA.pack_into(data, offset, values["sentinel"], values["code"], values["nbytes"], values["data_offset"], padding)
    weight_file.write_bytes(bytes(data))


def replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def replace_with_symlink(path: Path, target: Path | str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    path.symlink_to(target)


def nest_blocks(spec: Any, depth: int) -> None:
    """Append to the main block a chain of `cond` ops, each holding the next in its only block."""
    block = main_block(spec)
    for level in range(depth):
        operation = block.operations.add()
        operation.type = "cond"
        output = operation.outputs.add()
        output.name = f"nested_{level}"
        output.type.tensorType.dataType = 10
        output.type.tensorType.rank = 1
        output.type.tensorType.dimensions.add().constant.size = 1
        block = operation.blocks.add()


def nest_list_types(spec: Any, depth: int) -> None:
    """Give the first op output a list type nested `depth` levels deep."""
    value_type = next(walk_ops(main_block(spec))).outputs[0].type
    for _ in range(depth):
        value_type = value_type.listType.type
    value_type.tensorType.dataType = 10


def rename_inputs(spec: Any, rename: Callable[[int, str], str]) -> None:
    """Rename every named input binding of the main block's ops: rename(op position, old name)."""
    for position, operation in enumerate(main_block(spec).operations):
        for argument in operation.inputs.values():
            for binding in argument.arguments:
                if binding.WhichOneof("binding") == "name":
                    binding.name = rename(position, binding.name)


def first_outputs(spec: Any) -> list[str]:
    return [operation.outputs[0].name for operation in main_block(spec).operations if operation.outputs]


# ---------------------------------------------------------------- the variants

CaseMaker = Callable[[Path, Path], Case]
CASES: dict[str, CaseMaker] = {}


def register(name: str) -> Callable[[CaseMaker], CaseMaker]:
    """Return a decorator that adds a case maker to CASES under `name`."""

    def add(make: CaseMaker) -> CaseMaker:
        CASES[name] = make
        return make

    return add


def _manifest_case(name: str, text: str | bytes) -> None:
    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        data = text.encode() if isinstance(text, str) else text
        (package / "Manifest.json").write_bytes(data)
        return Case(package, Expect.ERROR, package / "Manifest.json")

    CASES[name] = make


_manifest_case("manifest_empty", "")
_manifest_case("manifest_invalid_json", '{"itemInfoEntries": ')
_manifest_case("manifest_binary", bytes(range(256)) * 4)
_manifest_case("manifest_deep_json", "[" * 200_000 + "]" * 200_000)
_manifest_case("manifest_huge_integer", "1" * 10_000)
_manifest_case("manifest_not_object", "[1, 2, 3]")
_manifest_case("manifest_without_entries", '{"rootModelIdentifier": "a"}')
_manifest_case("manifest_root_id_number", '{"rootModelIdentifier": 5, "itemInfoEntries": {}}')
_manifest_case("manifest_too_large", " " * (2 << 20) + "{}")


@register("manifest_missing")
def _manifest_missing(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    (package / "Manifest.json").unlink()
    return Case(package, Expect.ERROR, package)


@register("manifest_root_item_unknown")
def _manifest_root_item_unknown(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    edit_manifest(package, lambda manifest: manifest.update(rootModelIdentifier="no-such-item"))
    return Case(package, Expect.ERROR, package / "Manifest.json")


@register("manifest_root_item_not_object")
def _manifest_root_item_not_object(source: Path, work: Path) -> Case:
    package = copy_package(source, work)

    def edit(manifest: dict) -> None:
        manifest["itemInfoEntries"][manifest["rootModelIdentifier"]] = ["path"]

    edit_manifest(package, edit)
    return Case(package, Expect.ERROR, package / "Manifest.json")


def _root_path_case(name: str, root_path: Callable[[Path], Any], names: Callable[[Path], Path]) -> None:
    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        outside_copy(package, MODEL_FILE, "model.mlmodel")
        set_root_path(package, root_path(package))
        return Case(package, Expect.ERROR, names(package))

    CASES[name] = make


_root_path_case("root_path_missing_file", lambda p: "com.apple.CoreML/nope.mlmodel", lambda p: p / "Data/com.apple.CoreML/nope.mlmodel")
_root_path_case("root_path_escaping", lambda p: "../../outside/model.mlmodel", lambda p: p / ".." / "outside/model.mlmodel")
_root_path_case("root_path_absolute", lambda p: str(p.parent / "outside/model.mlmodel"), lambda p: p / ".." / "outside/model.mlmodel")
_root_path_case("root_path_nul", lambda p: "com.apple.CoreML/model\x00.mlmodel", lambda p: p / "Manifest.json")
_root_path_case("root_path_newline", lambda p: "com.apple.CoreML/model\n.mlmodel", lambda p: p / "Manifest.json")
_root_path_case("root_path_next_line", lambda p: "com.apple.CoreML/model\x85.mlmodel", lambda p: p / "Manifest.json")
_root_path_case("root_path_line_separator", lambda p: "model\u2028.mlmodel", lambda p: p / "Manifest.json")
_root_path_case("root_path_lone_surrogate", lambda p: "model\ud800.mlmodel", lambda p: p / "Manifest.json")
_root_path_case("root_path_too_long", lambda p: "a" * 5000, lambda p: p / "Data" / ("a" * 5000))
_root_path_case("root_path_empty", lambda p: "", lambda p: p / "Data")
_root_path_case("root_path_folder", lambda p: "com.apple.CoreML", lambda p: p / "Data/com.apple.CoreML")
_root_path_case("root_path_number", lambda p: 42, lambda p: p / "Manifest.json")


@register("manifest_is_folder")
def _manifest_is_folder(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_folder(package / "Manifest.json")
    return Case(package, Expect.ERROR, package / "Manifest.json")


@register("manifest_fifo")
def _manifest_fifo(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_fifo(package / "Manifest.json")
    return Case(package, Expect.ERROR, package / "Manifest.json")


@register("manifest_symlink_outside")
def _manifest_symlink_outside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    target = outside_copy(package, Path("Manifest.json"), "Manifest.json")
    replace_with_symlink(package / "Manifest.json", target)
    return Case(package, Expect.ERROR, package / "Manifest.json")


@register("manifest_symlink_loop")
def _manifest_symlink_loop(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_symlink(package / "Manifest.json", "Manifest.json")
    return Case(package, Expect.ERROR, package / "Manifest.json")


@register("manifest_symlink_inside")
def _manifest_symlink_inside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.copyfile(package / "Manifest.json", package / "Data" / "Manifest.copy.json")
    replace_with_symlink(package / "Manifest.json", Path("Data") / "Manifest.copy.json")
    return Case(package, Expect.OK)


# Model file: truncations, junk, wrong file types and links.


def _model_truncation(cut: Callable[[int], int]) -> CaseMaker:
    """Truncate model.mlmodel to cut(file size) bytes: every cut leaves a length-delimited field incomplete."""

    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        model_file = package / MODEL_FILE
        data = model_file.read_bytes()
        model_file.write_bytes(data[: cut(len(data))])
        return Case(package, Expect.ERROR, package / MODEL_FILE)

    return make


for _percent in (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95):
    CASES[f"model_truncated_{_percent}pct"] = _model_truncation(lambda size, percent=_percent: size * percent // 100)
CASES["model_truncated_to_1_byte"] = _model_truncation(lambda size: 1)
CASES["model_truncated_last_byte"] = _model_truncation(lambda size: size - 1)


@register("model_random_bytes")
def _model_random_bytes(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    model_file = package / MODEL_FILE
    model_file.write_bytes(np.random.default_rng(3).bytes(model_file.stat().st_size))
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_too_large")
def _model_too_large(source: Path, work: Path) -> Case:
    """A sparse 3 GiB model file: rejected by size before any of it is read."""
    package = copy_package(source, work)
    with open(package / MODEL_FILE, "r+b") as file:
        file.truncate(3 << 30)
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_no_type")
def _model_no_type(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    edit_spec(package, lambda spec: spec.ClearField("mlProgram"))
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_is_folder")
def _model_is_folder(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_folder(package / MODEL_FILE)
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_fifo")
def _model_fifo(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_fifo(package / MODEL_FILE)
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_symlink_outside")
def _model_symlink_outside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    target = outside_copy(package, MODEL_FILE, "model.mlmodel")
    replace_with_symlink(package / MODEL_FILE, target)
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_symlink_loop")
def _model_symlink_loop(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_symlink(package / MODEL_FILE, "model.mlmodel")
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("model_single_file_junk")
def _model_single_file_junk(source: Path, work: Path) -> Case:
    copy_package(source, work)
    model_file = work / "junk.mlmodel"
    model_file.write_bytes(b"\x0a\xff\xff\xff\xff\x0f" + b"\x00" * 100)
    return Case(model_file, Expect.ERROR, model_file)


# Package layout: folders where files belong and the reverse.


@register("package_is_file")
def _package_is_file(source: Path, work: Path) -> Case:
    copy_package(source, work)
    fake = work / "file.mlpackage"
    fake.write_text("not a package")
    return Case(fake, Expect.ERROR, fake)


@register("data_folder_is_file")
def _data_folder_is_file(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.rmtree(package / "Data")
    (package / "Data").write_text("not a folder")
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("data_folder_symlink_outside")
def _data_folder_symlink_outside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.copytree(package / "Data", work / "outside" / "Data")
    replace_with_symlink(package / "Data", work / "outside" / "Data")
    return Case(package, Expect.ERROR, package / MODEL_FILE)


@register("package_symlink_to_package")
def _package_symlink_to_package(source: Path, work: Path) -> Case:
    """A path the user passes may itself be a symlink: the package it names bounds what is read."""
    package = copy_package(source, work)
    alias = work / "alias.mlpackage"
    alias.symlink_to(package)
    return Case(alias, Expect.OK)


# Weight file: missing, Git LFS pointer, truncations, bad metadata, wrong file types and links.


@register("weight_missing")
def _weight_missing(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    (package / WEIGHT_FILE).unlink()
    return Case(package, Expect.WARNING)


@register("weights_folder_missing")
def _weights_folder_missing(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.rmtree(package / WEIGHT_FILE.parent)
    return Case(package, Expect.WARNING)


@register("weights_folder_is_file")
def _weights_folder_is_file(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.rmtree(package / WEIGHT_FILE.parent)
    (package / WEIGHT_FILE.parent).write_text("not a folder")
    return Case(package, Expect.WARNING)


@register("weight_git_lfs_pointer")
def _weight_git_lfs_pointer(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    size = (package / WEIGHT_FILE).stat().st_size
    (package / WEIGHT_FILE).write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        f"size {size}\n"
    )
    return Case(package, Expect.WARNING)


def _weight_truncation(cut: Callable[[int, int], int]) -> CaseMaker:
    """Truncate weight.bin to cut(file size, first metadata offset) bytes."""

    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        weight_file = package / WEIGHT_FILE
        data = weight_file.read_bytes()
        size = cut(len(data), first_metadata_offset(package))
        weight_file.write_bytes(data[:size])
        return Case(package, Expect.ERROR, package / WEIGHT_FILE)

    return make


CASES["weight_truncated_empty"] = _weight_truncation(lambda size, first: 0)
CASES["weight_truncated_in_header"] = _weight_truncation(lambda size, first: 40)
CASES["weight_truncated_after_header"] = _weight_truncation(lambda size, first: HEADER_SIZE)
CASES["weight_truncated_in_metadata"] = _weight_truncation(lambda size, first: first + 20)
CASES["weight_truncated_after_metadata"] = _weight_truncation(lambda size, first: first + 64)
CASES["weight_truncated_half"] = _weight_truncation(lambda size, first: size // 2)
CASES["weight_truncated_last_byte"] = _weight_truncation(lambda size, first: size - 1)


@register("weight_bad_version")
def _weight_bad_version(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    data = bytearray((package / WEIGHT_FILE).read_bytes())
    struct.pack_into("<I", data, 4, 7)
    (package / WEIGHT_FILE).write_bytes(bytes(data))
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


def _metadata_case(name: str, **fields: Callable[[int], int]) -> None:
    """Register a case that patches the first blob's metadata: each field maps the file size to a value."""

    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        size = (package / WEIGHT_FILE).stat().st_size
        patch_metadata(package, first_metadata_offset(package), **{key: value(size) for key, value in fields.items()})
        return Case(package, Expect.ERROR, package / WEIGHT_FILE)

    CASES[name] = make


_metadata_case("metadata_bad_sentinel", sentinel=lambda size: 0x12345678)
_metadata_case("metadata_zero_sentinel", sentinel=lambda size: 0)
_metadata_case("metadata_unknown_dtype", code=lambda size: 99)
_metadata_case("metadata_zero_dtype", code=lambda size: 0)
_metadata_case("metadata_offset_past_end", data_offset=lambda size: size + 64)
_metadata_case("metadata_offset_max", data_offset=lambda size: 2**64 - 1)
_metadata_case("metadata_offset_in_header", data_offset=lambda size: 0)
_metadata_case("metadata_size_past_end", nbytes=lambda size: size)
_metadata_case("metadata_size_max", nbytes=lambda size: 2**64 - 1)


def _reference_case(name: str, offset: Callable[[int, int], int] | None = None, file_name: Callable[[Path], str] | None = None,
                    expect: Expect = Expect.ERROR, names: Callable[[Path], Path | None] = lambda p: p / WEIGHT_FILE) -> None:
    """Register a case that rewrites every blob reference in the program: its offset (from file size and old offset) or file name."""

    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        outside_copy(package, WEIGHT_FILE, "weight.bin")
        size = (package / WEIGHT_FILE).stat().st_size

        def edit(spec: Any) -> None:
            for reference in blob_references(spec):
                if offset is not None:
                    reference.offset = offset(size, reference.offset)
                if file_name is not None:
                    reference.fileName = file_name(package)

        edit_spec(package, edit)
        return Case(package, expect, names(package))

    CASES[name] = make


_reference_case("reference_offset_zero", offset=lambda size, old: 0)
_reference_case("reference_offset_in_header", offset=lambda size, old: 8)
_reference_case("reference_offset_misaligned", offset=lambda size, old: old + 8)
_reference_case("reference_offset_past_end", offset=lambda size, old: size)
_reference_case("reference_offset_max", offset=lambda size, old: 2**64 - 1)
_reference_case("reference_file_missing", file_name=lambda p: "@model_path/weights/absent.bin", expect=Expect.WARNING)
_reference_case("reference_file_escaping", file_name=lambda p: "@model_path/../../../outside/weight.bin",
                names=lambda p: p / MODEL_DIR / "../../../outside/weight.bin")
_reference_case("reference_file_absolute", file_name=lambda p: str(p.parent / "outside" / "weight.bin"), names=lambda p: None)
_reference_case("reference_file_nul", file_name=lambda p: "@model_path/weights/weight\x00.bin", names=lambda p: p / MODEL_FILE)
_reference_case("reference_file_newline", file_name=lambda p: "@model_path/weights/weight\n.bin", names=lambda p: p / MODEL_FILE)
_reference_case("reference_file_next_line", file_name=lambda p: "@model_path/weights/weight\x85.bin", names=lambda p: p / MODEL_FILE)
_reference_case("reference_file_too_long", file_name=lambda p: "@model_path/" + "w" * 5000, names=lambda p: None)
_reference_case("reference_file_is_folder", file_name=lambda p: "@model_path/weights", names=lambda p: p / MODEL_DIR / "weights")
_reference_case("reference_file_empty", file_name=lambda p: "", names=lambda p: p / MODEL_DIR)
_reference_case("reference_file_is_model", file_name=lambda p: "@model_path/model.mlmodel", names=lambda p: p / MODEL_FILE)
_reference_case("reference_file_is_manifest", file_name=lambda p: "@model_path/../../Manifest.json",
                names=lambda p: p / MODEL_DIR / "../../Manifest.json")


@register("weight_is_folder")
def _weight_is_folder(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_folder(package / WEIGHT_FILE)
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_fifo")
def _weight_fifo(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_fifo(package / WEIGHT_FILE)
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_symlink_outside")
def _weight_symlink_outside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    target = outside_copy(package, WEIGHT_FILE, "weight.bin")
    replace_with_symlink(package / WEIGHT_FILE, target)
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_symlink_device")
def _weight_symlink_device(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_symlink(package / WEIGHT_FILE, "/dev/zero")
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_symlink_loop")
def _weight_symlink_loop(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    replace_with_symlink(package / WEIGHT_FILE, "weight.bin")
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_symlink_inside")
def _weight_symlink_inside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.move(package / WEIGHT_FILE, package / "Data" / "moved.bin")
    (package / WEIGHT_FILE).symlink_to(Path("..") / ".." / "moved.bin")
    return Case(package, Expect.OK)


@register("weights_folder_symlink_outside")
def _weights_folder_symlink_outside(source: Path, work: Path) -> Case:
    package = copy_package(source, work)
    shutil.copytree(package / WEIGHT_FILE.parent, work / "outside" / "weights")
    replace_with_symlink(package / WEIGHT_FILE.parent, work / "outside" / "weights")
    return Case(package, Expect.ERROR, package / WEIGHT_FILE)


@register("weight_sparse_tail")
def _weight_sparse_tail(source: Path, work: Path) -> Case:
    """A weight file extended to 8 GiB by a sparse hole: every blob stays valid and nothing of the hole is read."""
    package = copy_package(source, work)
    with open(package / WEIGHT_FILE, "r+b") as file:
        file.truncate(8 << 30)
    return Case(package, Expect.OK)


# Program structure: shapes, references, nesting.


def _spec_case(name: str, edit: Callable[[Any], None], expect: Expect) -> None:
    def make(source: Path, work: Path) -> Case:
        package = copy_package(source, work)
        edit_spec(package, edit)
        return Case(package, expect, package / MODEL_FILE)

    CASES[name] = make


def _each_tensor(change: Callable[[Any], None]) -> Callable[[Any], None]:
    def edit(spec: Any) -> None:
        for tensor in tensor_types(spec):
            change(tensor)

    return edit


_spec_case("shape_negative_rank", _each_tensor(lambda t: setattr(t, "rank", -5)), Expect.OK)
_spec_case("shape_rank_mismatch", _each_tensor(lambda t: setattr(t, "rank", 9)), Expect.OK)
_spec_case("shape_zero_dims", _each_tensor(lambda t: set_dims(t, [0, 0])), Expect.OK)
_spec_case("shape_enormous", _each_tensor(lambda t: set_dims(t, [2**64 - 1] * 3)), Expect.WARNING)
_spec_case("shape_enormous_rank_20", _each_tensor(lambda t: set_dims(t, [2**64 - 1] * 20)), Expect.WARNING)
_spec_case("shape_absurd_rank", lambda spec: set_absurd_rank(spec, 1_000_000), Expect.WARNING)
_spec_case("shape_rank_zero", _each_tensor(lambda t: set_dims(t, [])), Expect.OK)


def _description_shapes(shape: list[int]) -> Callable[[Any], None]:
    def edit(spec: Any) -> None:
        for feature in [*spec.description.input, *spec.description.output]:
            feature.type.multiArrayType.shape[:] = shape

    return edit


_spec_case("description_shape_negative", _description_shapes([-1, -(2**63)]), Expect.OK)
_spec_case("description_shape_enormous", _description_shapes([2**63 - 1] * 40), Expect.OK)
_spec_case("function_without_block", lambda spec: spec.mlProgram.functions["main"].block_specializations.clear(), Expect.ERROR)
_spec_case("function_opset_unknown", lambda spec: setattr(spec.mlProgram.functions["main"], "opset", "CoreML99"), Expect.ERROR)
_spec_case("program_without_functions", lambda spec: spec.mlProgram.functions.clear(), Expect.OK)
_spec_case("op_type_empty", lambda spec: [setattr(op, "type", "") for op in walk_ops(main_block(spec))], Expect.OK)
_spec_case("op_without_outputs", lambda spec: [op.ClearField("outputs") for op in main_block(spec).operations], Expect.ANY)
_spec_case("op_undefined_inputs", lambda spec: rename_inputs(spec, lambda position, name: f"undefined_{name}"), Expect.WARNING)


def _cycle(spec: Any) -> None:
    names = first_outputs(spec)
    rename_inputs(spec, lambda position, name: names[(position + 1) % len(names)])


def _self_loop(spec: Any) -> None:
    names = first_outputs(spec)
    rename_inputs(spec, lambda position, name: names[position])


def _block_output_undefined(spec: Any) -> None:
    main_block(spec).outputs[0] = "undefined_output"


def _duplicate_ids(spec: Any) -> None:
    for operation in main_block(spec).operations:
        operation.outputs[0].name = "same"


def _function_name_newline(spec: Any) -> None:
    """Give the function a name with a line break, and its values shapes that are warned about."""
    _each_tensor(lambda t: set_dims(t, [2**64 - 1] * 3))(spec)
    functions = spec.mlProgram.functions
    functions["ma\nin"].CopyFrom(functions["main"])
    del functions["main"]


_spec_case("function_name_newline", _function_name_newline, Expect.WARNING)
_spec_case("op_inputs_cycle", _cycle, Expect.WARNING)
_spec_case("op_input_self_loop", _self_loop, Expect.WARNING)
_spec_case("block_output_undefined", _block_output_undefined, Expect.WARNING)
_spec_case("op_ids_duplicate", _duplicate_ids, Expect.ERROR)
_spec_case("blocks_nested_40", lambda spec: nest_blocks(spec, 40), Expect.OK)
_spec_case("blocks_nested_1000", lambda spec: nest_blocks(spec, 1000), Expect.ERROR)
_spec_case("blocks_nested_5000", lambda spec: nest_blocks(spec, 5000), Expect.ERROR)
_spec_case("list_types_nested_5000", lambda spec: nest_list_types(spec, 5000), Expect.ERROR)


# ---------------------------------------------------------------- random damage for hypothesis


def flip_bytes(path: Path, changes: list[tuple[int, int]]) -> None:
    """Set byte (position modulo the file size) to value, for each (position, value)."""
    data = bytearray(path.read_bytes())
    for position, value in changes:
        data[position % len(data)] = value
    path.write_bytes(bytes(data))


def metadata_regions(package: Path) -> list[int]:
    """Return the byte positions of the weight file's header and of every blob metadata record."""
    offsets = sorted({reference.offset for reference in blob_references(read_spec(package))})
    return [*range(HEADER_SIZE), *(offset + i for offset in offsets for i in range(METADATA.size))]


# ---------------------------------------------------------------- checks shared by the runners


def tree_state(root: Path) -> dict[str, Any]:
    """Map every entry under `root` (not following symlinks) to its content hash, link target or kind.

    Files up to FULL_HASH_LIMIT are hashed in full; larger (sparse) files by
    size, modification and change times, and their first and last MiB.
    """
    state: dict[str, Any] = {}
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files]:
            path = Path(folder) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                state[key] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                state[key] = ("folder",)
            elif stat.S_ISREG(info.st_mode):
                state[key] = ("file", _file_digest(path, info))
            else:
                state[key] = ("special", stat.S_IFMT(info.st_mode))
    return state


def _file_digest(path: Path, info: os.stat_result) -> tuple:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        if info.st_size <= FULL_HASH_LIMIT:
            digest.update(file.read())
            return (digest.hexdigest(),)
        digest.update(file.read(1 << 20))
        file.seek(-(1 << 20), os.SEEK_END)
        digest.update(file.read())
    return (digest.hexdigest(), info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@dataclass
class Outcome:
    """What one mlinspect command did with one path."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    opened: list[str] = field(default_factory=list)
    """Resolved paths of the files the command opened or tried to open."""
    exception: BaseException | None = None
    """An exception the CLI let escape (in-process runs only)."""


def outside_opens(outcome: Outcome, package: Path, work: Path) -> list[str]:
    """Return the opened paths that lie outside the package: in the work folder or at a symlink's target.

    Paths are compared after resolving symlinks. Files of Python itself and
    of installed packages are not in the work folder and are not symlink
    targets, so they never count.
    """
    package_root = Path(os.path.realpath(package))
    if package_root.is_file():
        package_root = package_root.parent
    work_root = Path(os.path.realpath(work))
    targets = {
        Path(os.path.realpath(Path(folder) / name))
        for folder, folders, files in os.walk(work)
        for name in [*folders, *files]
        if (Path(folder) / name).is_symlink()
    }
    bad = []
    for opened in outcome.opened:
        path = Path(opened)
        in_package = path == package_root or package_root in path.parents
        in_work = path == work_root or work_root in path.parents
        if not in_package and (in_work or path in targets):
            bad.append(opened)
    return bad


# ---------------------------------------------------------------- the in-process runner

_audit_lock = threading.Lock()
_audit_log: list[list[str]] = []


def _audit(event: str, arguments: tuple) -> None:
    if event != "open" or not _audit_log:
        return
    target = arguments[0]
    if isinstance(target, (str, bytes, os.PathLike)):
        try:
            resolved = os.path.realpath(os.fsdecode(target))
        except (ValueError, OSError):
            resolved = os.fsdecode(target)
        _audit_log[-1].append(resolved)


_audit_installed = False


@contextmanager
def audited_opens() -> Iterator[list[str]]:
    """Record the resolved path of every file opened in this process (open, io.open, os.open) while active."""
    global _audit_installed
    with _audit_lock:
        if not _audit_installed:
            sys.addaudithook(_audit)  # hooks cannot be removed, so one hook serves every run
            _audit_installed = True
        opened: list[str] = []
        _audit_log.append(opened)
        try:
            yield opened
        finally:
            _audit_log.pop()


class HangError(Exception):
    """The command did not finish within HANG_SECONDS (raised by a SIGALRM handler)."""


# A command still running after this long is stopped, so that a reader that
# blocks (on a FIFO, say) fails its test instead of hanging the whole run.
HANG_SECONDS = 20


@contextmanager
def hang_guard() -> Iterator[None]:
    def stop(signal_number: int, frame: Any) -> None:
        raise HangError(f"timed out after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(arguments: list[str]) -> Outcome:
    """Run the `mlinspect` CLI through typer's CliRunner, recording the files it opens."""
    from typer.testing import CliRunner

    from mlinspect.cli.main import app

    runner = CliRunner()
    with audited_opens() as opened, hang_guard():
        start = time.perf_counter()
        result = runner.invoke(app, arguments)
        seconds = time.perf_counter() - start
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, seconds, list(opened), exception)


# ---------------------------------------------------------------- the subprocess runner

STRACE = shutil.which("strace")
_STRACE_LINE = re.compile(r'open(?:at)?\((?:AT_FDCWD(?:<(?P<cwd>[^>]*)>)?, )?"(?P<path>(?:[^"\\]|\\.)*)".*\) = (?P<result>-?\d+)(?:<(?P<fd>[^>]*)>)?')


def run_subprocess(arguments: list[str], timeout: float = 60.0) -> Outcome:
    """Run `python -m mlinspect` in a new process, under `strace -f -y` when strace is installed."""
    command = [sys.executable, "-m", "mlinspect", *arguments]
    with tempfile.TemporaryDirectory(prefix="mlinspect-strace-") as trace_folder:
        trace = Path(trace_folder) / "trace.txt"
        if STRACE:
            command = [STRACE, "-f", "-y", "-qq", "-e", "trace=open,openat", "-o", str(trace), *command]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False)
        seconds = time.perf_counter() - start
        opened = _traced_opens(trace) if STRACE else []
    return Outcome(result.returncode, result.stdout, result.stderr, seconds, opened)


def _traced_opens(trace: Path) -> list[str]:
    opened = []
    for line in trace.read_text(errors="replace").splitlines():
        match = _STRACE_LINE.search(line)
        if match is None:
            continue
        if match["fd"]:
            opened.append(match["fd"])
            continue
        # A failed attempt counts too: resolve the requested path as the kernel would have.
        requested = match["path"].encode().decode("unicode_escape")
        base = match["cwd"] or str(REPO)
        opened.append(os.path.realpath(os.path.join(base, requested)))
    return opened
