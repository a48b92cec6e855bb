"""Bad inputs built from a real package copied into tmp_path: the reader and the CLI reject each in one line."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import builders
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlinspect.errors import InvalidModelError, UnsupportedModelError
from mlinspect.reader import load

REPO = Path(__file__).resolve().parents[1]
# A CLI run takes about 0.3 s on an idle 2-core Linux machine, so these timeouts
# leave room for a loaded CI runner. The FIFO timeout bounds a reader that blocks.
CLI_TIMEOUT_SECONDS = 60
FIFO_TIMEOUT_SECONDS = 10
MODEL_DIR = Path("Data") / "com.apple.CoreML"


@dataclass(frozen=True)
class BadInput:
    """A bad model path, the file its error must name and a phrase its problem must contain."""

    path: Path
    file: Path
    problem: str
    error: type[InvalidModelError] = InvalidModelError


def copy_package(source: Path, tmp_path: Path) -> Path:
    package = tmp_path / "model.mlpackage"
    shutil.copytree(source, package)
    return package


def edit_manifest(package: Path, edit: Callable[[dict], None]) -> None:
    manifest_path = package / "Manifest.json"
    manifest = json.loads(manifest_path.read_text())
    edit(manifest)
    manifest_path.write_text(json.dumps(manifest))


def set_root_path(package: Path, root_path: str) -> None:
    def edit(manifest: dict) -> None:
        manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"] = root_path

    edit_manifest(package, edit)


def set_blob_file_names(package: Path, file_name: str) -> None:
    """Point every blob reference of the program at `file_name`."""
    spec = builders.read_spec(package)
    for function in spec.mlProgram.functions.values():
        for reference in builders.blob_references(function.block_specializations[function.opset]):
            reference.fileName = file_name
    (package / builders.MODEL_FILE).write_bytes(spec.SerializeToString())


def missing_path(source: Path, tmp_path: Path) -> BadInput:
    path = tmp_path / "absent.mlpackage"
    return BadInput(path, path, "not found")


def folder_not_package(source: Path, tmp_path: Path) -> BadInput:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a model")
    return BadInput(folder, folder, "Manifest.json not found")


def manifest_invalid_json(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    (package / "Manifest.json").write_text('{"itemInfoEntries": ')
    return BadInput(package, package / "Manifest.json", "invalid JSON")


def manifest_not_object(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    (package / "Manifest.json").write_text("[]")
    return BadInput(package, package / "Manifest.json", "invalid manifest")


def manifest_without_root_id(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    edit_manifest(package, lambda manifest: manifest.pop("rootModelIdentifier"))
    return BadInput(package, package / "Manifest.json", "rootModelIdentifier missing")


def manifest_unknown_root_item(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    edit_manifest(package, lambda manifest: manifest.update(rootModelIdentifier="no-such-item"))
    return BadInput(
        package, package / "Manifest.json", "'no-such-item' not found in itemInfoEntries"
    )


def manifest_root_outside(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    (tmp_path / "x").write_bytes((package / builders.MODEL_FILE).read_bytes())
    set_root_path(package, "../../x")
    return BadInput(package, package / ".." / "x", "points outside the package")


def manifest_root_absolute(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    outside = tmp_path / "outside.mlmodel"
    outside.write_bytes((package / builders.MODEL_FILE).read_bytes())
    set_root_path(package, str(outside))
    return BadInput(package, package / ".." / "outside.mlmodel", "points outside the package")


def manifest_symlink_outside(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    outside = tmp_path / "Manifest.json"
    shutil.move(package / "Manifest.json", outside)
    (package / "Manifest.json").symlink_to(outside)
    return BadInput(package, package / "Manifest.json", "points outside the package")


def model_symlink_outside(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    outside = tmp_path / "outside.mlmodel"
    shutil.move(package / builders.MODEL_FILE, outside)
    (package / builders.MODEL_FILE).symlink_to(outside)
    return BadInput(package, package / builders.MODEL_FILE, "points outside the package")


def model_file_is_folder(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    (package / builders.MODEL_FILE).unlink()
    (package / builders.MODEL_FILE).mkdir()
    return BadInput(package, package / builders.MODEL_FILE, "not a regular file")


def model_truncated(fraction: float) -> Callable[[Path, Path], BadInput]:
    def make(source: Path, tmp_path: Path) -> BadInput:
        package = copy_package(source, tmp_path)
        model_file = package / builders.MODEL_FILE
        data = model_file.read_bytes()
        model_file.write_bytes(data[: int(len(data) * fraction)])
        return BadInput(package, model_file, "not a valid Core ML model file")

    return make


def model_truncated_by_one_byte(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    model_file = package / builders.MODEL_FILE
    model_file.write_bytes(model_file.read_bytes()[:-1])
    return BadInput(package, model_file, "not a valid Core ML model file")


def model_random_bytes(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    model_file = package / builders.MODEL_FILE
    model_file.write_bytes(random.Random(0).randbytes(model_file.stat().st_size))
    return BadInput(package, model_file, "not a valid Core ML model file")


def single_file_random_bytes(source: Path, tmp_path: Path) -> BadInput:
    model_file = tmp_path / "random.mlmodel"
    model_file.write_bytes(random.Random(1).randbytes(2000))
    return BadInput(model_file, model_file, "not a valid Core ML model file")


def weight_truncated(size: int) -> Callable[[Path, Path], BadInput]:
    def make(source: Path, tmp_path: Path) -> BadInput:
        package = copy_package(source, tmp_path)
        weight_file = package / builders.WEIGHT_FILE
        weight_file.write_bytes(weight_file.read_bytes()[:size])
        problem = (
            "truncated weight file"
            if size < builders.BLOB_HEADER_SIZE
            else "past the end of the file"
        )
        return BadInput(package, weight_file, problem)

    return make


def weight_truncated_by_one_byte(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    weight_file = package / builders.WEIGHT_FILE
    weight_file.write_bytes(weight_file.read_bytes()[:-1])
    return BadInput(package, weight_file, "past the end of the file")


def weight_bad_sentinel(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    weight_file = package / builders.WEIGHT_FILE
    data = bytearray(weight_file.read_bytes())
    # The first metadata record follows the 64-byte header, so its sentinel is bytes 64 to 67.
    for index in range(64, 68):
        data[index] ^= 0xFF
    weight_file.write_bytes(bytes(data))
    return BadInput(package, weight_file, "bad blob sentinel")


def weight_unknown_dtype(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    weight_file = package / builders.WEIGHT_FILE
    data = bytearray(weight_file.read_bytes())
    data[68:72] = (250).to_bytes(4, "little")
    weight_file.write_bytes(bytes(data))
    return BadInput(package, weight_file, "unknown blob dtype code 250")


def blob_reference_outside(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    shutil.copy(package / builders.WEIGHT_FILE, tmp_path / "outside.bin")
    set_blob_file_names(package, "@model_path/../../../outside.bin")
    return BadInput(
        package, package / MODEL_DIR / "../../../outside.bin", "points outside the package"
    )


def weights_folder_symlink_outside(source: Path, tmp_path: Path) -> BadInput:
    package = copy_package(source, tmp_path)
    weights = package / MODEL_DIR / "weights"
    shutil.move(weights, tmp_path / "weights")
    weights.symlink_to(tmp_path / "weights")
    return BadInput(package, weights / "weight.bin", "points outside the package")


def compiled_model_folder(source: Path, tmp_path: Path) -> BadInput:
    compiled = tmp_path / "model.mlmodelc"
    (compiled / "weights").mkdir(parents=True)
    (compiled / "model.mil").write_text("program(1.0)\n")
    (compiled / "coremldata.bin").write_bytes(b"\x00" * 16)
    shutil.copy(source / builders.WEIGHT_FILE, compiled / "weights" / "weight.bin")
    return BadInput(compiled, compiled, "not supported yet", UnsupportedModelError)


CASES: dict[str, Callable[[Path, Path], BadInput]] = {
    "missing_path": missing_path,
    "folder_not_package": folder_not_package,
    "manifest_invalid_json": manifest_invalid_json,
    "manifest_not_object": manifest_not_object,
    "manifest_without_root_id": manifest_without_root_id,
    "manifest_unknown_root_item": manifest_unknown_root_item,
    "manifest_root_outside": manifest_root_outside,
    "manifest_root_absolute": manifest_root_absolute,
    "manifest_symlink_outside": manifest_symlink_outside,
    "model_symlink_outside": model_symlink_outside,
    "model_file_is_folder": model_file_is_folder,
    "model_truncated_empty": model_truncated(0.0),
    "model_truncated_tenth": model_truncated(0.1),
    "model_truncated_half": model_truncated(0.5),
    "model_truncated_one_byte": model_truncated_by_one_byte,
    "model_random_bytes": model_random_bytes,
    "single_file_random_bytes": single_file_random_bytes,
    "weight_truncated_header": weight_truncated(30),
    "weight_truncated_first_blob": weight_truncated(200),
    "weight_truncated_one_byte": weight_truncated_by_one_byte,
    "weight_bad_sentinel": weight_bad_sentinel,
    "weight_unknown_dtype": weight_unknown_dtype,
    "blob_reference_outside": blob_reference_outside,
    "weights_folder_symlink_outside": weights_folder_symlink_outside,
    "compiled_model_folder": compiled_model_folder,
}


def run_cli(
    *arguments: str, timeout: float = CLI_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlinspect", *arguments],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def load_error(path: Path) -> InvalidModelError:
    with pytest.raises(InvalidModelError) as caught:
        load(path)
    return caught.value


@pytest.mark.parametrize("case", CASES)
def test_load_rejects_bad_input(plain_package: Path, tmp_path: Path, case: str) -> None:
    bad = CASES[case](plain_package, tmp_path)
    before = builders.hash_tree(tmp_path)

    error = load_error(bad.path)

    assert isinstance(error, bad.error)
    assert error.path == str(bad.file)
    assert bad.problem in error.problem
    assert str(error) == f"{bad.file}: {error.problem}"
    assert builders.hash_tree(tmp_path) == before


@pytest.mark.parametrize("case", CASES)
def test_cli_rejects_bad_input(plain_package: Path, tmp_path: Path, case: str) -> None:
    bad = CASES[case](plain_package, tmp_path)
    expected = load_error(bad.path)
    before = builders.hash_tree(tmp_path)

    result = run_cli("summary", str(bad.path))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"mlinspect: error: {expected}\n"
    assert "Traceback" not in result.stderr
    assert builders.hash_tree(tmp_path) == before


def test_cli_traceback_flag_shows_traceback(plain_package: Path, tmp_path: Path) -> None:
    bad = manifest_invalid_json(plain_package, tmp_path)

    result = run_cli("--traceback", "summary", str(bad.path))

    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "InvalidModelError" in result.stderr


def test_cli_json_rejects_bad_input(plain_package: Path, tmp_path: Path) -> None:
    bad = weight_bad_sentinel(plain_package, tmp_path)

    result = run_cli("summary", str(bad.path), "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "form", ["plain", *(f"{scheme}_{target}" for scheme, target in builders.COMPRESSED_FORMS)]
)
def test_missing_weight_file_uses_declared_sizes(
    all_forms: dict[str, Path], tmp_path: Path, form: str
) -> None:
    source = all_forms[form]
    package = copy_package(source, tmp_path)
    expected = {
        (blob.file, blob.offset): (blob.dtype, blob.nbytes)
        for op in load(source).walk()
        for blob in op.blobs()
    }
    (package / builders.WEIGHT_FILE).unlink()

    model = load(package)

    declared = {
        (blob.file, blob.offset): (blob.dtype, blob.nbytes)
        for op in model.walk()
        for blob in op.blobs()
    }
    assert declared == expected
    assert all(blob.declared for op in model.walk() for blob in op.blobs())
    assert all(blob.data_offset is None for op in model.walk() for blob in op.blobs())


def test_missing_weight_file_warning(plain_package: Path, tmp_path: Path) -> None:
    package = copy_package(plain_package, tmp_path)
    (package / builders.WEIGHT_FILE).unlink()

    model = load(package)

    assert len(model.warnings) == 1
    assert str(package / builders.WEIGHT_FILE) in model.warnings[0]
    assert model.weight_files["weights/weight.bin"].size is None
    assert model.weight_files["weights/weight.bin"].blob_count is None


def test_missing_weights_folder_warning(plain_package: Path, tmp_path: Path) -> None:
    package = copy_package(plain_package, tmp_path)
    shutil.rmtree(package / MODEL_DIR / "weights")

    model = load(package)

    assert len(model.warnings) == 1
    assert "weights/weight.bin" in model.warnings[0]


def test_cli_missing_weight_file_succeeds(plain_package: Path, tmp_path: Path) -> None:
    package = copy_package(plain_package, tmp_path)
    (package / builders.WEIGHT_FILE).unlink()

    result = run_cli("summary", str(package))

    assert result.returncode == 0
    assert result.stdout != ""
    assert "weight.bin" in result.stdout + result.stderr


def test_git_lfs_pointer_weight_file_warning(plain_package: Path, tmp_path: Path) -> None:
    """A clone without Git LFS contains a text pointer in place of weight.bin, and the structure still loads."""
    package = copy_package(plain_package, tmp_path)
    weight_file = package / builders.WEIGHT_FILE
    size = weight_file.stat().st_size
    weight_file.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        f"size {size}\n"
    )

    model = load(package)

    assert len(model.warnings) == 1
    assert "weights/weight.bin" in model.warnings[0]
    assert all(blob.declared for op in model.walk() for blob in op.blobs())


def test_error_names_path_as_given(plain_package: Path, tmp_path: Path) -> None:
    """A package reached through a symlinked folder is named by the path the caller passed, not its target."""
    real = tmp_path / "real"
    real.mkdir()
    package = copy_package(plain_package, real)
    (package / "Manifest.json").write_text("{")
    (tmp_path / "alias").symlink_to(real)
    alias_path = tmp_path / "alias" / package.name

    error = load_error(alias_path)

    assert error.path == str(alias_path / "Manifest.json")


@pytest.mark.parametrize(
    "root_path",
    ["com.apple.CoreML/model\u0000.mlmodel", "a" * 5000],
    ids=["nul_character", "name_too_long"],
)
def test_manifest_unusable_root_path(plain_package: Path, tmp_path: Path, root_path: str) -> None:
    """A root path that the OS cannot open raises InvalidModelError, not ValueError or OSError."""
    package = copy_package(plain_package, tmp_path)
    set_root_path(package, root_path)

    error = load_error(package)

    assert error.path.startswith(str(package))


@pytest.mark.parametrize(
    "file_name",
    ["@model_path/weights/weight\u0000.bin", "@model_path/" + "b" * 5000],
    ids=["nul_character", "name_too_long"],
)
def test_blob_unusable_file_name(plain_package: Path, tmp_path: Path, file_name: str) -> None:
    """A weight file name that the OS cannot open raises InvalidModelError, not ValueError or OSError."""
    package = copy_package(plain_package, tmp_path)
    set_blob_file_names(package, file_name)

    error = load_error(package)

    assert error.path.startswith(str(package))


def test_manifest_deeply_nested_json(plain_package: Path, tmp_path: Path) -> None:
    """JSON nested deeper than json.loads can recurse raises InvalidModelError, not RecursionError."""
    package = copy_package(plain_package, tmp_path)
    (package / "Manifest.json").write_text("[" * 100_000 + "]" * 100_000)

    error = load_error(package)

    assert error.path == str(package / "Manifest.json")


@pytest.mark.parametrize(
    "relative", [Path("Manifest.json"), builders.WEIGHT_FILE], ids=["manifest", "weight_file"]
)
def test_fifo_in_package_rejected(plain_package: Path, tmp_path: Path, relative: Path) -> None:
    """A named pipe in place of a package file is rejected instead of blocking on open()."""
    package = copy_package(plain_package, tmp_path)
    fifo = package / relative
    fifo.unlink()
    os.mkfifo(fifo)

    # A subprocess with a timeout, so that a reader that blocks cannot hang the test run.
    try:
        result = run_cli("summary", str(package), timeout=FIFO_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mlinspect blocked for {FIFO_TIMEOUT_SECONDS} s reading the FIFO {fifo}")

    assert result.returncode == 2
    assert result.stderr.startswith(f"mlinspect: error: {fifo}: ")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_model_file_loads_or_rejects(
    control_flow_package: Path, tmp_path: Path, data: st.DataObject
) -> None:
    """A model.mlmodel with a few bytes changed loads or raises InvalidModelError, never another error."""
    package = tmp_path / "mutated.mlpackage"
    if not package.exists():
        shutil.copytree(control_flow_package, package)
    original = (control_flow_package / builders.MODEL_FILE).read_bytes()
    mutated = bytearray(original)
    positions = data.draw(st.lists(st.integers(0, len(original) - 1), min_size=1, max_size=4))
    for position in positions:
        mutated[position] = data.draw(st.integers(0, 255))
    (package / builders.MODEL_FILE).write_bytes(bytes(mutated))

    try:
        load(package)
    except InvalidModelError as error:
        assert error.path.startswith(str(package))
