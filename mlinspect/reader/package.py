"""Locate the model file inside an .mlpackage, a .mlmodel or a .mlmodelc, staying inside it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlinspect.errors import InvalidModelError, UnsupportedModelError
from mlinspect.reader.files import check_path_text, describe_os_error, read_regular

MANIFEST = "Manifest.json"
# Manifests written by Xcode and coremltools 9.0 take under 2 kB. The limit
# only bounds the memory a hostile Manifest.json can make the reader allocate.
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ModelLocation:
    """Location of a package's model file, and the folder that every reference must stay in."""

    model_file: Path
    root: Path
    """Resolved folder that bounds every file mlinspect opens for this model."""


def locate(path: str | Path) -> ModelLocation:
    """Find the root model file of `path` (a package folder or a model file) and check it is safe to open."""
    if not str(path):
        raise InvalidModelError("''", "empty path; pass a .mlpackage folder or a .mlmodel file")
    path = Path(path)
    try:
        return _locate(path)
    except OSError as error:  # a path too long, a symlink loop, a folder that cannot be listed
        raise InvalidModelError(path, describe_os_error(error)) from error
    except ValueError as error:
        raise InvalidModelError(path, "invalid path: contains a NUL byte or characters the file system cannot encode") from error
    except RuntimeError as error:  # Path.resolve() on a symlink loop (Python 3.11)
        raise InvalidModelError(path, "cannot be read: a symbolic link loop") from error


def _locate(path: Path) -> ModelLocation:
    if not path.exists() and not path.is_symlink():
        raise InvalidModelError(path, "not found")

    if path.is_dir():
        if (path / MANIFEST).exists() or (path / MANIFEST).is_symlink():
            return _locate_in_package(path)
        if (path / "model.mil").exists() or (path / "coremldata.bin").exists():
            raise UnsupportedModelError(
                path,
                "compiled .mlmodelc folders are not supported yet; pass the .mlpackage or .mlmodel it was compiled from",
            )
        models = sorted(p.name for p in path.iterdir() if p.suffix in (".mlmodel", ".mlpackage"))[:3]
        hint = f"; it contains {', '.join(models)}: pass {'that' if len(models) == 1 else 'one of those'} instead" if models else ""
        raise InvalidModelError(path, f"not a Core ML package: {MANIFEST} not found{hint}")

    resolved = path.resolve()
    if not resolved.is_file():
        raise InvalidModelError(path, "not a regular file")
    return ModelLocation(model_file=resolved, root=resolved.parent)


def _locate_in_package(package: Path) -> ModelLocation:
    root = package.resolve()
    manifest_path = package / MANIFEST
    resolved_manifest = inside(manifest_path, root, package)
    if resolved_manifest.is_dir():
        raise InvalidModelError(manifest_path, "is a folder, expected a JSON file")
    data = read_regular(resolved_manifest, manifest_path, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(data)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an integer too long to convert
        raise InvalidModelError(manifest_path, f"invalid JSON ({error})") from error
    except RecursionError as error:
        raise InvalidModelError(manifest_path, "invalid JSON: nested too deeply to parse") from error

    if not isinstance(manifest, dict):
        raise InvalidModelError(manifest_path, "invalid manifest: expected a JSON object")
    root_id = manifest.get("rootModelIdentifier")
    entries = manifest.get("itemInfoEntries")
    if not isinstance(entries, dict):
        raise InvalidModelError(manifest_path, "invalid manifest: itemInfoEntries missing")
    if not isinstance(root_id, str):
        raise InvalidModelError(manifest_path, "invalid manifest: rootModelIdentifier missing")
    entry = entries.get(root_id)
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise InvalidModelError(
            manifest_path, f"invalid manifest: root item {root_id!r} not found in itemInfoEntries"
        )
    check_path_text(entry["path"], "manifest: root item path", manifest_path)

    shown_model_file = package / "Data" / entry["path"]
    model_file = inside(shown_model_file, root, package)
    try:
        exists, is_file = model_file.exists(), model_file.is_file()
    except OSError as error:
        raise InvalidModelError(shown_model_file, describe_os_error(error)) from error
    if not exists:
        raise InvalidModelError(shown_model_file, "not found (named as the root model in Manifest.json)")
    if not is_file:
        raise InvalidModelError(shown_model_file, "not a regular file (named as the root model in Manifest.json)")
    return ModelLocation(model_file=model_file, root=root)


def inside(path: Path, root: Path, shown_root: Path | None = None) -> Path:
    """Resolve `path` through symlinks and `..`, and raise unless it stays inside `root`."""
    shown = path if shown_root is None else shown_root / os.path.relpath(path, shown_root)
    try:
        resolved = Path(os.path.realpath(path))
    except ValueError as error:
        raise InvalidModelError(shown, "invalid path: contains a NUL byte or characters the file system cannot encode") from error
    except OSError as error:
        raise InvalidModelError(shown, describe_os_error(error)) from error
    if resolved != root and root not in resolved.parents:
        raise InvalidModelError(shown, f"points outside the package (resolves to {resolved})")
    return resolved
