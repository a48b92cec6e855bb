"""Profile overlay for a comparison: estimated latency and device of each unit, from each side's profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlinspect.comparison.units import Unit

if TYPE_CHECKING:
    from mlinspect.profile.attribution import Attribution
    from mlinspect.profile.record import Profile


@dataclass(frozen=True, slots=True)
class SideProfile:
    """One model's profile and the latency attributed from it to the model's ops."""

    profile: Profile
    attribution: Attribution

    def header(self) -> dict[str, Any]:
        from mlinspect.profile.record import ESTIMATE_LABEL
        from mlinspect.profile.report import host_label

        return {
            "host": host_label(self.profile, self.attribution),
            "compute_units": self.attribution.compute_units,
            "median_ms": self.attribution.predict_ms.median,
            "coverage": self.attribution.coverage.share,
            "estimate": ESTIMATE_LABEL,
        }


def unit_ms(unit: Unit, side: SideProfile | None) -> float | None:
    """Return the estimated latency of a unit and its runtime wrappers (quantize, dequantize, cast)."""
    if side is None:
        return None
    timings = side.attribution.ops
    values = [timings[a.id].estimated_ms for a in [*unit.ops, *unit.wrappers] if a.id in timings]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def unit_device(unit: Unit, side: SideProfile | None) -> str | None:
    """Return the preferred device of the unit's costliest op, or None without a profile."""
    if side is None:
        return None
    timings = side.attribution.ops
    known = [timings[a.id] for a in unit.ops if a.id in timings]
    if not known:
        return None
    costliest = max(known, key=lambda t: t.estimated_ms or 0.0)
    return costliest.preferred_device


def category_ms(side: SideProfile | None, category: str) -> float | None:
    if side is None:
        return None
    timing = side.attribution.categories.get(category)
    return 0.0 if timing is None else timing.estimated_ms
