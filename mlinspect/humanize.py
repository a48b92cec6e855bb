"""Number and shape formatting shared by the text views."""

from __future__ import annotations

from collections.abc import Sequence


def human_bytes(nbytes: float | None) -> str:
    """Return a size in decimal units (MB = 10**6 bytes), as Finder and Xcode show package sizes."""
    if nbytes is None:
        return "-"
    value = float(nbytes)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} TB"


def signed_bytes(nbytes: int) -> str:
    if nbytes > 0:
        return "+" + human_bytes(nbytes)
    if nbytes < 0:
        return "-" + human_bytes(-nbytes)
    return "±0 B"


def human_count(value: float | None, unit: str = "") -> str:
    """Return a count with an SI prefix, e.g. 17.56 GFLOP."""
    if value is None:
        return "-"
    magnitude = abs(float(value))
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if magnitude >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f} %"


def shape(dims: Sequence | None) -> str:
    if dims is None:
        return "?"
    return "[" + ", ".join(str(d) for d in dims) + "]"
