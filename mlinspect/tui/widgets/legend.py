"""The device legend shown next to every view that colours ops by device."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from mlinspect.tui.devices import legend


class DeviceLegend(Static):
    """One line of device badges, where "unknown" marks ops without a profile placement."""

    def __init__(self, profiled: bool, **kwargs: Any) -> None:
        text = legend()
        if not profiled:
            text.append("(no profile attached: every op shows unknown)", style="italic")
        super().__init__(text, **kwargs)
