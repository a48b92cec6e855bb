"""Text views of `summary` and `ops`: they render records and compute nothing."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mlinspect.humanize import human_bytes, human_count, percent, shape


def _feature_line(feature: dict[str, Any]) -> str:
    text = f"{feature['name']}: {feature['kind']} {feature['dtype'] or ''} {shape(feature['shape'])}"
    if feature.get("flexible") == "range":
        text += " (flexible: ranges " + ", ".join(f"{lo}..{hi}" for lo, hi in feature["shapes"]) + ")"
    elif feature.get("flexible") == "enumerated":
        text += " (flexible: one of " + ", ".join(shape(s) for s in feature["shapes"]) + ")"
    return text


def _pairs_table(title: str, rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> Group:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for position, header in enumerate(headers):
        table.add_column(header, justify="left" if position == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return Group(Text(title, style="bold"), table)


def render_summary(summary: dict[str, Any], console: Console) -> None:
    model = summary["model"]
    lines = [
        Text(model["path"], style="bold"),
        (f"type: {model['type']}, specification version {model['specification_version']} "
        f"(minimum deployment target {model['deployment_target']})"),
    ]
    if model["opsets"]:
        lines.append("opsets: " + ", ".join(f"{o} ({t})" for o, t in model["opsets"].items()))
    producer = model["producer"]
    if producer["coremltools_version"] or producer["source"]:
        lines.append(f"producer: coremltools {producer['coremltools_version'] or '?'}, source {producer['source'] or '?'}")
    if model["description"]:
        lines.append(f"description: {model['description']}")
    console.print(Group(*lines))

    for title, key in (("inputs", "inputs"), ("outputs", "outputs"), ("states", "states")):
        if summary[key]:
            console.print(f"\n{title}:")
            for feature in summary[key]:
                console.print(f"  {_feature_line(feature)}")

    if summary.get("layers"):
        console.print("\nneural-network layers (not an ML program, so no per-op analysis):")
        for layer, count in summary["layers"].items():
            console.print(f"  {layer}: {count}")
    if summary.get("sub_models"):
        console.print("\npipeline sub-models: " + ", ".join(f"#{s['index']} {s['type']}" for s in summary["sub_models"]))

    if summary["functions"]:
        console.print("\nfunctions:")
        for function in summary["functions"]:
            default = " (default)" if function["default"] and len(summary["functions"]) > 1 else ""
            specializations = ""
            if len(function["specializations"]) > 1:
                specializations = f", specializations {', '.join(function['specializations'])}"
            console.print(f"  {function['name']}{default}: {function['ops']} ops, opset {function['opset']}{specializations}")
            if not summary["inputs"]:
                for value in function["inputs"]:
                    console.print(f"    input {value['name']}: {value['type']}")
                for feature in function["outputs"]:
                    console.print(f"    output {_feature_line(feature)}")
                for feature in function["states"]:
                    console.print(f"    state {_feature_line(feature)}")

    ops = summary["ops"]
    if ops["total"]:
        console.print()
        console.print(_pairs_table(
            f"ops by category ({ops['total']} in all)",
            [(category, str(count)) for category, count in ops["by_category"].items()],
            ("category", "ops"),
        ))
        console.print()
        console.print(_pairs_table(
            "ops by type",
            [(op_type, str(count)) for op_type, count in ops["by_type"].items()],
            ("type", "ops"),
        ))

    weights = summary["weights"]
    if weights["blobs"]:
        total = weights["total_bytes"]
        console.print()
        files = ", ".join(f"{f['path']} {human_bytes(f['size'])}" if f["size"] is not None else f"{f['path']} (missing)" for f in weights["files"])
        share = "" if weights["share_of_files"] is None else f"; blobs take {percent(weights['share_of_files'])} of the files"
        console.print(f"weights: {human_bytes(total)} in {weights['blobs']} blobs ({files}{share})")
        if weights["declared_only"]:
            console.print("  sizes taken from declared types: the weight file is missing")
        for title, key in (("by storage dtype", "by_dtype"), ("by scheme", "by_scheme"), ("by category of the consuming op", "by_category")):
            console.print(_pairs_table(
                f"weights {title}",
                [(name, human_bytes(nbytes), percent(nbytes / total if total else None)) for name, nbytes in weights[key].items()],
                ("", "bytes", "share"),
            ))
        if len(weights["by_function"]) > 1:
            console.print(_pairs_table(
                "weights by function (a blob shared by functions counts in each)",
                [(name, human_bytes(nbytes)) for name, nbytes in weights["by_function"].items()],
                ("function", "bytes"),
            ))

    if summary["quantization"]:
        console.print("\nquantization coverage:")
        for group in summary["quantization"]:
            console.print(f"  {coverage_sentence(group)}")



def coverage_sentence(group: dict[str, Any]) -> str:
    """Return e.g. "linear: 25 of 49 with int8 weights, 25 of 49 with int8 activations"."""
    total = group["total"]
    weights = [f"{n} of {total} with {dtype} weights" for dtype, n in group["weights_by_dtype"].items() if dtype != "none"]
    without = group["weights_by_dtype"].get("none")
    if without:
        weights.append(f"{without} of {total} without constant weights")
    activations = [
        f"{n} of {total} with {dtype} activations" for dtype, n in group["activations_by_dtype"].items() if dtype != "none"
    ]
    if not activations:
        activations = [f"0 of {total} with quantized activations"]
    return f"{group['op_type']}: " + ", ".join(weights + activations)


def render_ops(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, justify in (
        ("id", "left"), ("type", "left"), ("category", "left"), ("weight", "left"),
        ("weight bytes", "right"), ("activations", "left"), ("FLOPs", "right"), ("bytes moved", "right"),
    ):
        table.add_column(header, justify=justify, overflow="fold")
    for row in rows:
        weight = row["weight"]
        weight_text = "" if weight is None else f"{weight['dtype']} {weight['scheme']}"
        activations = ", ".join(
            f"{a['param']}:{a['dtype'] if a['quantized'] else 'float'}" for a in row["activations"]
        )
        table.add_row(
            row["id"], row["type"], row["category"], weight_text,
            human_bytes(row["weight_bytes"]) if row["weight_bytes"] else "",
            activations, human_count(row["flops"]), human_bytes(row["bytes_moved"]),
        )
    console.print(table)
