"""Text views of profiles: the summary's profile section, the profiled ops table and the recording result."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from mlinspect.humanize import human_bytes, human_count, percent
from mlinspect.profile.record import ESTIMATE_LABEL

# Op ids a text view lists before it ends the list with "and N more".
_LISTED_OPS = 8


def milliseconds(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(title: str | None = None) -> Table:
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )


def render_profile_section(section: dict[str, Any], console: Console) -> None:
    """Render the `profile` section that `summary --profile` adds to the summary record."""
    host = section["host"]
    console.print(f"\nprofile: {section['file']}")
    if section["note"]:
        console.print(f"  note: {section['note']}")
    console.print(
        f"  recorded on {host['chip']}, {host['os']}, coremltools {host['coremltools_version']}"
        f" ({section['clock']} clock); compile {milliseconds(section['compile_ms'], 1)} ms"
    )

    runs = _table("latency per compute-unit setting (ms)")
    for header in (
        "compute units",
        "load median",
        "predict median",
        "p10",
        "p90",
        "min",
        "max",
        "ops in plan",
    ):
        runs.add_column(header, justify="left" if header == "compute units" else "right")
    for run in section["runs"]:
        load, predict = run["load_ms"] or {}, run["predict_ms"] or {}
        runs.add_row(
            run["compute_units"],
            milliseconds(load.get("median"), 1),
            milliseconds(predict.get("median")),
            milliseconds(predict.get("p10")),
            milliseconds(predict.get("p90")),
            milliseconds(predict.get("min")),
            milliseconds(predict.get("max")),
            str(run["ops_in_plan"]),
        )
    console.print()
    console.print(runs)
    for run in section["runs"]:
        for error in run["errors"]:
            console.print(
                f"  {run['compute_units']}: {error['stage']} failed: {error['message']}",
                style="yellow",
            )

    render_attribution(section["attribution"], console)


def render_attribution(attribution: dict[str, Any], console: Console) -> None:
    """Render per-category and per-device latency and the coverage of an attribution record."""
    units = attribution["compute_units"]
    median = attribution["predict_ms"]["median"]
    categories = _table(f"latency by category, {units}, {ESTIMATE_LABEL} (median {median:.3f} ms)")
    for header in ("category", "ops", "est. ms", "share", "preferred devices"):
        categories.add_column(
            header, justify="left" if header in ("category", "preferred devices") else "right"
        )
    for row in attribution["by_category"]:
        devices = ", ".join(f"{device} {count}" for device, count in row["devices"].items())
        categories.add_row(
            row["category"],
            str(row["ops"]),
            milliseconds(row["estimated_ms"]),
            percent(row["estimated_share"]),
            devices,
        )
    console.print()
    console.print(categories)

    if attribution["by_device"]:
        console.print(
            "latency by preferred device: "
            + ", ".join(
                f"{row['device']} {row['estimated_ms']:.3f} ms" for row in attribution["by_device"]
            )
        )
    console.print(coverage_sentence(attribution["coverage"]))
    for warning in attribution["warnings"]:
        console.print(f"warning: {warning}", style="yellow")


def coverage_sentence(coverage: dict[str, Any]) -> str:
    """Return e.g. "coverage: 40 of 42 runtime ops have a cost weight (95.2 %), weight sum 0.9731; ..."."""
    text = (
        f"coverage: {coverage['runtime_ops_with_cost']} of {coverage['runtime_ops']} runtime ops have a cost weight "
        f"({percent(coverage['share'])}), weight sum {coverage['weight_sum']:.4f}"
    )
    missing = coverage["ops_without_cost"]
    if missing:
        listed = ", ".join(missing[:_LISTED_OPS])
        more = f" and {len(missing) - _LISTED_OPS} more" if len(missing) > _LISTED_OPS else ""
        text += f"; without a cost: {listed}{more}"
    return text


def render_profiled_ops(rows: list[dict[str, Any]], console: Console) -> None:
    """Render `ops --profile` rows: the ops table with device and estimated latency columns."""
    table = _table(f"est. ms: latency {ESTIMATE_LABEL}")
    for header, justify in (
        ("id", "left"),
        ("type", "left"),
        ("category", "left"),
        ("device", "left"),
        ("est. ms", "right"),
        ("share", "right"),
        ("weight", "left"),
        ("weight bytes", "right"),
        ("FLOPs", "right"),
    ):
        table.add_column(header, justify=justify, overflow="fold")
    for row in rows:
        timing = row.get("profile") or {}
        weight = row["weight"]
        table.add_row(
            row["id"],
            row["type"],
            row["category"],
            timing.get("preferred_device") or ("-" if not timing else "unknown"),
            milliseconds(timing.get("estimated_ms")),
            percent(timing.get("estimated_share")),
            "" if weight is None else f"{weight['dtype']} {weight['scheme']}",
            human_bytes(row["weight_bytes"]) if row["weight_bytes"] else "",
            human_count(row["flops"]),
        )
    console.print(table)


def render_recording(record: dict[str, Any], output: str, console: Console) -> None:
    """Render what `mlinspect profile` measured, one line per compute-unit setting."""
    console.print(
        f"wrote {output}: {record['host']['chip']}, {record['host']['os']} {record['host']['os_version']}"
    )
    if record["compile_ms"] is not None:
        console.print(f"  compile {record['compile_ms']:.1f} ms")
    for run in record["runs"]:
        if run["predict_ms"] is not None:
            load = run["load_ms"]
            predict = run["predict_ms"]
            console.print(
                f"  {run['compute_units']}: load median {load['median']:.1f} ms, predict median {predict['median']:.3f} ms "
                f"(p10 {predict['p10']:.3f}, p90 {predict['p90']:.3f}), {len(run['ops'])} ops in the compute plan"
            )
        for error in run["errors"]:
            console.print(f"  {run['compute_units']}: {error['stage']} failed: {error['message']}")
