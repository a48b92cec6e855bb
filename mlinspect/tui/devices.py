"""Device placement of ops: names, labels and the one set of colours every view uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

NEURAL_ENGINE = "neural_engine"
GPU = "gpu"
CPU = "cpu"
UNKNOWN = "unknown"

DEVICES = (NEURAL_ENGINE, GPU, CPU, UNKNOWN)

LABELS = {NEURAL_ENGINE: "ANE", GPU: "GPU", CPU: "CPU", UNKNOWN: "unknown"}

# White bold text on a mid-tone background keeps every badge readable on both
# light and dark themes, because the badge never relies on the screen's colour.
STYLES = {
    NEURAL_ENGINE: "bold #ffffff on #1f63c6",
    GPU: "bold #ffffff on #2b7a3d",
    CPU: "bold #ffffff on #b5400c",
    UNKNOWN: "bold #ffffff on #5f6670",
}

# An op's placement: {"device": one of DEVICES but UNKNOWN, or None; "estimated_ms": float or None}.
Placements = Mapping[str, Mapping[str, Any]]


def device_of(placements: Placements | None, op_id: str) -> str:
    """Return the device a profile placed `op_id` on, or UNKNOWN without a profile or a placement."""
    if not placements:
        return UNKNOWN
    device = (placements.get(op_id) or {}).get("device")
    return device if device in STYLES else UNKNOWN


def estimated_ms(placements: Placements | None, op_id: str) -> float | None:
    """Return the profile's estimated latency of `op_id` in milliseconds, or None."""
    if not placements:
        return None
    return (placements.get(op_id) or {}).get("estimated_ms")


def badge(device: str) -> Text:
    """Return the device's label as a coloured badge of fixed width."""
    return Text.assemble(
        (f" {LABELS.get(device, device):^7} ", STYLES.get(device, STYLES[UNKNOWN]))
    )


def legend() -> Text:
    """Return one line with the badge of every device."""
    text = Text("device: ")
    for device in DEVICES:
        text.append_text(badge(device))
        text.append(" ")
    return text
