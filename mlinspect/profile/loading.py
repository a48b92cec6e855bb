"""Read and write profile files: schema validation and the check that a profile fits its model."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from mlinspect.mil.records import Model
from mlinspect.profile.errors import InvalidProfileError, ProfileMismatchError
from mlinspect.profile.identity import model_identity
from mlinspect.profile.record import SCHEMA, Profile, profile_from_record, profile_record


@cache
def profile_schema() -> dict[str, Any]:
    """Return the JSON Schema of profile records (mlinspect/schemas/profile.schema.json)."""
    text = (
        resources.files("mlinspect")
        .joinpath("schemas/profile.schema.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def validate_profile_record(record: Any, source: str | os.PathLike[str]) -> None:
    """Raise InvalidProfileError, naming `source` and the first failing key, unless `record` matches the schema."""
    if not isinstance(record, dict):
        raise InvalidProfileError(source, "invalid profile: expected a JSON object")
    if record.get("schema") != SCHEMA:
        raise InvalidProfileError(
            source,
            f"unsupported profile schema {record.get('schema')!r}; this mlinspect reads {SCHEMA!r}",
        )

    try:
        import jsonschema
    except ImportError:
        # jsonschema is a test dependency; without it only profile_from_record checks keys and types.
        return

    validator = jsonschema.Draft202012Validator(profile_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise InvalidProfileError(source, f"invalid profile at {where}: {error.message}")


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """Read and validate a profile file without checking which model it belongs to."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvalidProfileError(path, "profile file not found") from error
    except IsADirectoryError as error:
        raise InvalidProfileError(path, "is a folder, expected a profile JSON file") from error
    except UnicodeDecodeError as error:
        raise InvalidProfileError(path, "not a profile: the file is not UTF-8 text") from error
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidProfileError(path, f"invalid JSON ({error})") from error

    validate_profile_record(record, path)
    try:
        return profile_from_record(record, source=str(path))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidProfileError(
            path, f"invalid profile: {type(error).__name__}: {error}"
        ) from error


def load_profile(path: str | os.PathLike[str], model: Model | str | os.PathLike[str]) -> Profile:
    """Read the profile at `path` and check that it was recorded for `model` (a Model record or a path).

    The check compares the SHA-256 of the model file, not the path, so a
    profile recorded on a Mac applies to the same package copied elsewhere.
    Raises InvalidProfileError for a file that is not a valid profile and
    ProfileMismatchError for a profile of another model.
    """
    profile = read_profile(path)
    model_path = model.path if isinstance(model, Model) else model
    actual = model_identity(model_path, profile.model.function)
    if actual.sha256 != profile.model.sha256:
        raise ProfileMismatchError(
            path,
            f"recorded for a different model ({profile.model.path}, {profile.model.model_file} "
            f"sha256 {profile.model.sha256[:12]}) than {model_path} (sha256 {actual.sha256[:12]}); "
            f"record a profile of this model with `mlinspect profile {model_path} -o FILE` on a Mac",
        )
    return profile


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Validate the profile's JSON form against the schema and write it to `path`."""
    record = profile_record(profile)
    validate_profile_record(record, path)
    Path(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
