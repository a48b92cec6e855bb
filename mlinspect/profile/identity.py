"""Model identity: which model file a profile belongs to, by content hash."""

from __future__ import annotations

import hashlib
import os

from mlinspect.profile.record import ModelIdentity
from mlinspect.reader.package import locate

_CHUNK = 1 << 20


def model_identity(path: str | os.PathLike[str], function: str | None) -> ModelIdentity:
    """Return the identity of the model at `path`: its path and the SHA-256 of its model file.

    Only the model file (model.mlmodel inside a package) is hashed, because it
    contains the program and every weight reference. The weight file is left
    out because it may be gigabytes, or missing from a clone without Git LFS.
    Raises InvalidModelError when `path` is not a model.
    """
    location = locate(path)
    digest = hashlib.sha256()
    with open(location.model_file, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return ModelIdentity(
        path=str(path),
        model_file=location.model_file.relative_to(location.root).as_posix(),
        sha256=digest.hexdigest(),
        function=function,
    )
