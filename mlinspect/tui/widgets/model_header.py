"""Header lines naming the compared models with their weight size, op count and profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import Static

from mlinspect.humanize import human_bytes, signed_bytes
from mlinspect.tui.widgets.bars import SIDE_STYLES


def model_line(label: str, header: dict[str, Any], host: str | None = None) -> Text:
    """Return one line: side label, package name, weight size, op count, opsets and the profile host."""
    text = Text()
    text.append(f" {label} ", style=f"bold #ffffff on {SIDE_STYLES[label]}")
    text.append(f" {Path(header['path']).name}", style="bold")
    text.append(
        f"  weights {human_bytes(header['weight_bytes'])}  ops {header['ops']}  {', '.join(header['opsets'])}"
    )
    profile = header.get("profile")
    if profile:
        text.append(
            f"  profile: {profile['host']}, median {profile['median_ms']:.3f} ms",
            style="italic",
        )
    elif host:
        text.append(f"  profile: {host}", style="italic")
    return text


def estimate_line(document: dict[str, Any]) -> Text | None:
    """Return the line that labels every latency as an estimate, or None when neither side has a profile."""
    profiles = {side: document[side].get("profile") for side in "ab"}
    if not any(profiles.values()):
        return None
    coverage = "  ".join(
        f"{side.upper()} coverage {profile['coverage'] * 100:.0f} %"
        for side, profile in profiles.items()
        if profile and profile.get("coverage") is not None
    )
    line = Text(
        " latency estimated from the compute plan: median prediction latency x op cost weight"
    )
    if coverage:
        line.append(f"  ({coverage} of runtime ops have a cost)")
    return line


class ModelHeader(Static):
    """Both models of a diff, the weight delta and the pairing coverage."""

    def __init__(
        self,
        document: dict[str, Any],
        hosts: tuple[str | None, str | None] = (None, None),
        **kwargs: Any,
    ) -> None:
        text = model_line("A", document["a"], hosts[0])
        text.append("\n")
        text.append_text(model_line("B", document["b"], hosts[1]))
        text.append(
            f"\n weights {signed_bytes(document['weights']['delta'])}"
            f"  compute ops paired {document['coverage'] * 100:.1f} %"
            f"  pairs {len(document['pairs'])}  only in A {len(document['only_in_a'])}"
            f"  only in B {len(document['only_in_b'])}"
        )
        estimate = estimate_line(document)
        if estimate is not None:
            text.append("\n")
            text.append_text(estimate)
        super().__init__(text, **kwargs)
