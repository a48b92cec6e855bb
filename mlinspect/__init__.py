"""mlinspect: inspect, profile and diff Core ML models.

`mlinspect.load(path)` reads a model into records; `mlinspect.diff(a, b)`
compares two of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlinspect.comparison.compare import Comparison
    from mlinspect.mil.records import Model

__version__ = "0.1.0"
__all__ = ["__version__", "diff", "load"]


def load(path: Any) -> Model:
    """Read the model at `path` (.mlpackage folder or .mlmodel file); see `mlinspect.reader.load`."""
    from mlinspect.reader import load as read

    return read(path)


def diff(a: Any, b: Any) -> Comparison:
    """Compare two models, given as Model records or paths, and return the Comparison record.

    See `mlinspect.comparison.pairing.pair_units` for how ops are paired, and
    `mlinspect.comparison.compare.to_json` for the `mlinspect diff --json` document.
    """
    from mlinspect.comparison.compare import compare
    from mlinspect.mil.records import Model

    model_a = a if isinstance(a, Model) else load(a)
    model_b = b if isinstance(b, Model) else load(b)
    return compare(model_a, model_b)
