"""The one error base class and the CLI's exit statuses."""

from __future__ import annotations

import enum
from pathlib import Path


class ExitStatus(enum.IntEnum):
    """Process exit statuses of the `mlinspect` command."""

    SUCCESS = 0
    CHECK_FAILED = 1
    INVALID_INPUT = 2


class MlinspectError(Exception):
    """An input or usage problem that the CLI reports in one line with exit status 2."""

    exit_status = ExitStatus.INVALID_INPUT


class InvalidModelError(MlinspectError):
    """A model file or package that cannot be read: the message names the file and the fault."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsupportedModelError(InvalidModelError):
    """A valid Core ML model of a kind that mlinspect does not inspect (for example a neural network)."""
