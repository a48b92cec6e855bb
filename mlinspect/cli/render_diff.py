"""Text view of `mlinspect diff`: renders the comparison document and computes nothing."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from mlinspect.humanize import human_bytes, human_count, percent, signed_bytes

_CHANGED_PAIRS_SHOWN = 40


def _units(count: int) -> str:
    return f"{count} op" if count == 1 else f"{count} ops"


def _flops(side: dict[str, Any]) -> str:
    """Return a side's static FLOPs, marked with * when some ops have no static count."""
    text = human_count(side["flops"])
    return text + "*" if side["without_cost"] else text


def _signed_count(value: int) -> str:
    return f"{value:+d}" if value else "0"


def render_diff(document: dict[str, Any], console: Console, all_pairs: bool = False) -> None:
    a, b = document["a"], document["b"]
    for label, side in (("A", a), ("B", b)):
        console.print(
            f"{label}: {side['path']} ({side['ops']} ops, {human_bytes(side['weight_bytes'])} of weights, "
            f"opsets {', '.join(side['opsets'])})",
            highlight=False,
        )
        profile = side.get("profile")
        if profile:
            console.print(
                f"   profiled on {profile['host']}: median prediction {profile['median_ms']:.3f} ms; "
                f"per-op latency {profile['estimate']}",
                highlight=False,
            )

    weights = document["weights"]
    share = (weights["delta"] / weights["a"]) if weights["a"] else None
    console.print(
        f"weights: {human_bytes(weights['a'])} → {human_bytes(weights['b'])} "
        f"({signed_bytes(weights['delta'])}{'' if share is None else f', {share * 100:+.1f} %'})"
    )

    coverage = document["coverage_detail"]
    groups = coverage["by_category"].values()
    if coverage["basis"] == "all":
        line = (
            f"neither model has compute ops; ops paired: {percent(document['coverage'])}; "
            f"{coverage['pairs']} pairs, {_units(coverage['only_in_a'])} only in A, {_units(coverage['only_in_b'])} only in B"
        )
    else:
        line = (
            f"compute ops paired: {percent(document['coverage'])} "
            f"({sum(g['paired_a'] for g in groups)} of {sum(g['a'] for g in groups)} in A, "
            f"{sum(g['paired_b'] for g in groups)} of {sum(g['b'] for g in groups)} in B); "
            f"{coverage['pairs']} pairs in all, {_units(coverage['only_in_a'])} only in A, {_units(coverage['only_in_b'])} only in B"
        )
    console.print(line)
    if document["coverage"] < 0.5:
        console.print(
            "low coverage: these models differ too much to pair most of their compute ops; "
            "are they variants of the same model?",
            style="yellow",
        )

    console.print()
    console.print(_categories_table(document["categories"]))
    if any(row["a"]["without_cost"] or row["b"]["without_cost"] for row in document["categories"]):
        console.print("* some ops of this category have no static FLOP count because their shapes are not fixed")

    changed = [p for p in document["pairs"] if p["changes"]]
    console.print()
    if document["findings"]:
        console.print("findings:", style="bold")
        for number, finding in enumerate(document["findings"], 1):
            console.print(f"{number:>3}. {finding['text']}", highlight=False)
    elif changed or document["only_in_a"] or document["only_in_b"]:
        console.print("findings: none beyond the changed pairs listed below")
    else:
        console.print("findings: none; the models match op for op")

    if changed:
        console.print()
        shown = changed if all_pairs else changed[:_CHANGED_PAIRS_SHOWN]
        console.print(_pairs_table(shown, f"changed pairs ({len(changed)} of {len(document['pairs'])})"))
        if len(shown) < len(changed):
            console.print(f"... {len(changed) - len(shown)} more changed pairs; --all-pairs or --json shows them")



def _categories_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="by category (A → B)", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    profiled = any(row["estimated_ms"]["delta"] is not None for row in rows)
    headers = ["category", "ops", "Δ ops", "weights", "Δ weights", "FLOPs (static)", "quantized w / a"]
    if profiled:
        headers.append("est. ms")
    for header in headers:
        table.add_column(header, justify="left" if header == "category" else "right")
    for row in rows:
        side_a, side_b, delta = row["a"], row["b"], row["delta"]
        quantized = ""
        if row["category"] in ("matmul", "attention", "conv"):
            quantized = (
                f"{side_a['quantized_weights']}/{side_a['quantized_activations']} → "
                f"{side_b['quantized_weights']}/{side_b['quantized_activations']}"
            )
        latency = []
        if profiled:
            ms = row["estimated_ms"]
            latency = [f"{ms['a']:.3f} → {ms['b']:.3f}" if ms["a"] or ms["b"] else ""]
        table.add_row(
            row["category"],
            f"{side_a['ops']} → {side_b['ops']}",
            _signed_count(delta["ops"]),
            f"{human_bytes(side_a['weight_bytes'])} → {human_bytes(side_b['weight_bytes'])}" if side_a["weight_bytes"] or side_b["weight_bytes"] else "",
            signed_bytes(delta["weight_bytes"]) if delta["weight_bytes"] else "",
            f"{_flops(side_a)} → {_flops(side_b)}" if side_a["flops"] or side_b["flops"] or side_a["without_cost"] or side_b["without_cost"] else "",
            quantized,
            *latency,
        )
    return table


def _pairs_table(pairs: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("A", "B", "how paired", "changes"):
        table.add_column(header, overflow="fold")
    for pair in pairs:
        table.add_row(pair["a"]["id"], pair["b"]["id"], pair["method"], "; ".join(pair["changes"]))
    return table
