"""Horizontal bars drawn with block characters."""

from __future__ import annotations

from rich.text import Text

# Mid-tone colours stay visible on both light and dark backgrounds.
SIDE_STYLES = {"A": "#3b82f6", "B": "#e8590c"}
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, maximum: float, width: int, style: str) -> Text:
    """Return a bar of `width` cells filled in proportion to value / maximum, in eighths of a cell."""
    if maximum <= 0 or value <= 0:
        return Text(" " * width)
    eighths = round(min(value / maximum, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    cells = "█" * full + (_EIGHTHS[rest] if rest else "")
    if not cells:
        cells = "▏"
    return Text(cells.ljust(width), style=style)
