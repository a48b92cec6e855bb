"""Locate the model file inside an .mlpackage, a .mlmodel or a .mlmodelc, staying inside it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlinspect.errors import InvalidModelError, UnsupportedModelError

MANIFEST = "Manifest.json"


@dataclass(frozen=True, slots=True)
class ModelLocation:
    """Where the model file of a package is and which folder every reference must stay in."""

    model_file: Path
    root: Path
    """Resolved folder that bounds every file mlinspect opens for this model."""


def locate(path: str | Path) -> ModelLocation:
    """Find the root model file of `path` (a package folder or a model file) and check it is safe to open."""
    path = Path(path)
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
        raise InvalidModelError(path, f"not a Core ML package: {MANIFEST} not found")

    resolved = path.resolve()
    if not resolved.is_file():
        raise InvalidModelError(path, "not a regular file")
    return ModelLocation(model_file=resolved, root=resolved.parent)


def _locate_in_package(package: Path) -> ModelLocation:
    root = package.resolve()
    manifest_path = inside(package / MANIFEST, root, package)
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidModelError(manifest_path, f"invalid JSON ({error})") from error
    except IsADirectoryError as error:
        raise InvalidModelError(manifest_path, "is a folder, expected a JSON file") from error

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

    model_file = inside(package / "Data" / entry["path"], root, package)
    if not model_file.exists():
        raise InvalidModelError(model_file, "not found (named as the root model in Manifest.json)")
    if not model_file.is_file():
        raise InvalidModelError(model_file, "not a regular file (named as the root model in Manifest.json)")
    return ModelLocation(model_file=model_file, root=root)


def inside(path: Path, root: Path, shown_root: Path | None = None) -> Path:
    """Resolve `path` through symlinks and `..`, and raise unless it stays inside `root`."""
    resolved = Path(os.path.realpath(path))
    if resolved != root and root not in resolved.parents:
        shown = path if shown_root is None else shown_root / os.path.relpath(path, shown_root)
        raise InvalidModelError(shown, f"points outside the package (resolves to {resolved})")
    return resolved
