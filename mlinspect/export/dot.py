"""Graphviz DOT export of a model's op graphs, written as text (no Graphviz bindings needed)."""

from __future__ import annotations

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import ModelAnalysis
from mlinspect.export.attributes import DEVICE_COLORS, DEVICE_LABELS
from mlinspect.profile.attribution import UNKNOWN_DEVICE, Attribution
from mlinspect.profile.record import ESTIMATE_LABEL

_PLAIN_FILL = "#ffffff"


def quote(text: str) -> str:
    """Return `text` as a DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_text(analysis: ModelAnalysis, attribution: Attribution | None = None) -> str:
    """Return a DOT digraph with a cluster per function, an edge per value and, when profiled, device colours.

    Each node is labelled with op type and name; a profiled op adds its
    preferred device and its latency estimated from the compute plan.
    """
    model = analysis.model
    by_id = analysis.by_id()
    timings = attribution.ops if attribution is not None else {}
    title = model.path
    if attribution is not None:
        title += f"\n{attribution.compute_units}, latency {ESTIMATE_LABEL}"
    lines = [
        "digraph model {",
        f"  graph [rankdir=TB, labelloc=t, label={quote(title)}];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fillcolor="#ffffff"];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]

    used_devices: set[str] = set()
    for position, function in enumerate(model.function_names()):
        graph = model.graph(function)
        lines.append(f"  subgraph cluster_{position} {{")
        lines.append(f"    label={quote(function)};")
        for op_id in graph.nodes:
            op_analysis = by_id[op_id]
            op = op_analysis.op
            label = f"{op.type}\n{op.name}"
            fill = _PLAIN_FILL
            timing = timings.get(op_id)
            if timing is not None:
                device = timing.preferred_device or UNKNOWN_DEVICE
                used_devices.add(device)
                fill = DEVICE_COLORS[device]
                label += f"\n{DEVICE_LABELS[device]}"
                if timing.estimated_ms is not None:
                    label += f", {timing.estimated_ms:.3f} ms (est.)"
            style = (
                ', style="rounded,filled,dashed"'
                if op.category in (cat.CONST, cat.WEIGHT_DECOMPRESSION)
                else ""
            )
            lines.append(
                f"    {quote(op_id)} [label={quote(label)}, fillcolor={quote(fill)}{style}];"
            )
        lines.append("  }")
        for source, target, data in graph.edges(data=True):
            shape = data.get("shape")
            dims = "?" if shape is None else ", ".join(str(d) for d in shape)
            edge_label = f"{data.get('dtype') or ''}[{dims}]"
            lines.append(f"  {quote(source)} -> {quote(target)} [label={quote(edge_label)}];")

    if used_devices:
        lines.append("  subgraph cluster_legend {")
        lines.append('    label="preferred device";')
        for device in sorted(used_devices):
            lines.append(
                f"    {quote('legend:' + device)} [label={quote(DEVICE_LABELS[device])}, fillcolor={quote(DEVICE_COLORS[device])}];"
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
