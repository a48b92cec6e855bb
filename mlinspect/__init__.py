"""mlinspect: inspect, profile and diff Core ML models.

`mlinspect.load(path)` reads a model into records; `mlinspect.diff(a, b)`
compares two of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlinspect.mil.records import Model

__version__ = "0.1.0"
__all__ = ["load", "diff", "__version__"]


def load(path: Any) -> Model:
    """Read the model at `path` (.mlpackage folder or .mlmodel file); see `mlinspect.reader.load`."""
    from mlinspect.reader import load as read

    return read(path)


def diff(a: Any, b: Any) -> Any:
    """Compare two models (records or paths) and return the comparison record; see `mlinspect.diff.compare`."""
    from mlinspect.diff import compare

    return compare(load(a) if not hasattr(a, "program") else a, load(b) if not hasattr(b, "program") else b)
