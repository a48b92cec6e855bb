"""Errors of profile recording and loading; each prints as one line naming the file."""

from __future__ import annotations

from pathlib import Path

from mlinspect.errors import MlinspectError


class ProfileError(MlinspectError):
    """A profile file that cannot be used: invalid, for another model, or without the requested run."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class InvalidProfileError(ProfileError):
    """A profile file that is not valid JSON or does not match the profile schema."""


class ProfileMismatchError(ProfileError):
    """A valid profile that was recorded for a different model than the one given."""


class RunNotFoundError(ProfileError):
    """A profile without a usable run for the requested compute units."""


class RecordingUnavailableError(MlinspectError):
    """Recording needs the Core ML runtime, which only macOS has."""


class RecordingError(MlinspectError):
    """Recording failed before any compute-unit setting could run (model not compiled, inputs invalid)."""
