"""Records each screen renders, and the functions that build them from model paths in a worker thread."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from mlinspect.analysis.ops import ModelAnalysis, OpAnalysis
from mlinspect.comparison.compare import Comparison
from mlinspect.comparison.timing import SideProfile
from mlinspect.tui.devices import Placements


@dataclass(slots=True)
class DiffData:
    """A finished comparison with its `diff --json` document and optional device placements per side.

    Placements and hosts default to those of the comparison's profiles
    (`profile_a`, `profile_b`) when it has them.
    """

    comparison: Comparison
    document: dict[str, Any]
    placements_a: Placements | None = None
    placements_b: Placements | None = None
    hosts: tuple[str | None, str | None] = (None, None)
    """Profile host of each side, e.g. "macOS 15.1, Apple M4, all", or None without a profile."""
    ops_a: dict[str, OpAnalysis] = field(init=False)
    ops_b: dict[str, OpAnalysis] = field(init=False)

    def __post_init__(self) -> None:
        self.ops_a = self.comparison.a.by_id()
        self.ops_b = self.comparison.b.by_id()
        if self.placements_a is None:
            self.placements_a = side_placements(self.comparison.profile_a)
        if self.placements_b is None:
            self.placements_b = side_placements(self.comparison.profile_b)
        if self.hosts == (None, None):
            self.hosts = (
                (self.document["a"].get("profile") or {}).get("host"),
                (self.document["b"].get("profile") or {}).get("host"),
            )

    @property
    def profiled(self) -> bool:
        return bool(self.placements_a or self.placements_b)


@dataclass(slots=True)
class BrowseData:
    """One analyzed model with its summary and optional device placements."""

    analysis: ModelAnalysis
    summary: dict[str, Any]
    placements: Placements | None = None
    host: str | None = None
    profile: SideProfile | None = None
    """The attached profile; with it, placements and host default to the profile's."""
    ops: dict[str, OpAnalysis] = field(init=False)

    def __post_init__(self) -> None:
        self.ops = self.analysis.by_id()
        if self.profile is not None:
            if self.placements is None:
                self.placements = side_placements(self.profile)
            if self.host is None:
                self.host = self.profile.header()["host"]

    def category_ms(self) -> dict[str, float] | None:
        """Return the estimated latency per category in ms, or None without a profile."""
        if self.profile is None:
            return None
        return {
            name: timing.estimated_ms
            for name, timing in self.profile.attribution.categories.items()
        }


def side_placements(side: SideProfile | None) -> Placements | None:
    """Return per op id the device, supported devices, cost weight and estimated ms of a profile."""
    if side is None:
        return None
    from mlinspect.profile.report import placements

    return placements(side.attribution)


def diff_data(
    comparison: Comparison,
    placements_a: Placements | None = None,
    placements_b: Placements | None = None,
) -> DiffData:
    from mlinspect.comparison.compare import to_json

    return DiffData(comparison, to_json(comparison), placements_a, placements_b)


def load_diff(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str]) -> DiffData:
    """Read both models and compare them. Raises MlinspectError when a model cannot be read."""
    from mlinspect.comparison.compare import compare
    from mlinspect.reader import load

    return diff_data(compare(load(path_a), load(path_b)))


def load_browse(path: str | os.PathLike[str], placements: Placements | None = None) -> BrowseData:
    """Read and analyze one model. Raises MlinspectError when the model cannot be read.

    The CLI attaches a profile before the UI starts, so that a profile that
    does not match the model exits with an error instead of opening the UI.
    """
    from mlinspect.analysis.ops import analyze
    from mlinspect.analysis.summary import summarize
    from mlinspect.reader import load

    model = load(path)
    analysis = analyze(model)
    return BrowseData(analysis, summarize(model, analysis), placements)
