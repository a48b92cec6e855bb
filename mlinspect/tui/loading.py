"""Records each screen renders, and the functions that build them from model paths in a worker thread."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from mlinspect.analysis.ops import ModelAnalysis, OpAnalysis
from mlinspect.diff.compare import Comparison
from mlinspect.tui.devices import Placements


@dataclass(slots=True)
class DiffData:
    """A finished comparison with its `diff --json` document and optional device placements per side."""

    comparison: Comparison
    document: dict[str, Any]
    placements_a: Placements | None = None
    placements_b: Placements | None = None
    hosts: tuple[str | None, str | None] = (None, None)
    """Profile host of each side, e.g. "macOS 15.1, Apple M4, ALL", or None without a profile."""
    ops_a: dict[str, OpAnalysis] = field(init=False)
    ops_b: dict[str, OpAnalysis] = field(init=False)

    def __post_init__(self) -> None:
        self.ops_a = self.comparison.a.by_id()
        self.ops_b = self.comparison.b.by_id()


@dataclass(slots=True)
class BrowseData:
    """One analyzed model with its summary and optional device placements."""

    analysis: ModelAnalysis
    summary: dict[str, Any]
    placements: Placements | None = None
    host: str | None = None
    ops: dict[str, OpAnalysis] = field(init=False)

    def __post_init__(self) -> None:
        self.ops = self.analysis.by_id()


def diff_data(
    comparison: Comparison,
    placements_a: Placements | None = None,
    placements_b: Placements | None = None,
) -> DiffData:
    from mlinspect.diff.compare import to_json

    return DiffData(comparison, to_json(comparison), placements_a, placements_b)


def load_diff(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str]) -> DiffData:
    """Read both models and compare them. Raises MlinspectError when a model cannot be read."""
    from mlinspect.diff.compare import compare
    from mlinspect.reader import load

    return diff_data(compare(load(path_a), load(path_b)))


def load_browse(path: str | os.PathLike[str], placements: Placements | None = None) -> BrowseData:
    """Read and analyze one model. Raises MlinspectError when the model cannot be read."""
    from mlinspect.analysis.ops import analyze
    from mlinspect.analysis.summary import summarize
    from mlinspect.reader import load

    model = load(path)
    analysis = analyze(model)
    return BrowseData(analysis, summarize(model, analysis), placements)
