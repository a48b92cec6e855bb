"""Plain data the screens show: rows of the paired op table, op details and neighbourhoods.

Everything here is read from records that the analyses already built. The
module shapes them for display and never imports Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlinspect.analysis.ops import OpAnalysis, storage_record
from mlinspect.mil.graph import FunctionIndex
from mlinspect.mil.records import Literal, Model
from mlinspect.tui.devices import STYLES, UNKNOWN, Placements, device_of, estimated_ms

PAIR = "pair"
ONLY_A = "only_a"
ONLY_B = "only_b"

# Table scopes: which rows the paired op table lists.
SCOPES = {"all": "all pairs", "changed": "changed pairs", ONLY_A: "only in A", ONLY_B: "only in B"}
SORTS = ("program", "bytes", "cost", "latency", "name")


@dataclass(frozen=True, slots=True)
class PairRow:
    """One row of the paired op table: a pair of units, or a unit found in one model only."""

    key: str
    """Unique row key: "pair:N" for the N-th pair, "a:ID" or "b:ID" for unpaired units."""
    kind: str
    """PAIR, ONLY_A or ONLY_B."""
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    changes: tuple[str, ...] = ()
    method: str | None = None
    order: int = 0
    """Position in the `diff --json` document, the table's default order."""

    @property
    def name(self) -> str:
        return (self.a or self.b)["id"]

    @property
    def category(self) -> str:
        return (self.a or self.b)["category"]

    def sides(self) -> Iterable[dict[str, Any]]:
        return (side for side in (self.a, self.b) if side is not None)

    def op_ids(self) -> set[str]:
        """Return the op ids of both sides, wrappers included, prefixed "a:" or "b:"."""
        ids = set()
        for prefix, side in (("a:", self.a), ("b:", self.b)):
            if side is not None:
                ids.update(
                    prefix + op_id for op_id in (*side["ops"], *side["wrappers"], side["id"])
                )
        return ids


def pair_rows(document: dict[str, Any]) -> list[PairRow]:
    """Return the table rows of a `diff --json` document: pairs, then units only in A, then only in B."""
    rows = [
        PairRow(f"pair:{i}", PAIR, pair["a"], pair["b"], tuple(pair["changes"]), pair["method"], i)
        for i, pair in enumerate(document["pairs"])
    ]
    start = len(rows)
    rows += [
        PairRow(f"a:{unit['id']}", ONLY_A, unit, None, order=start + i)
        for i, unit in enumerate(document["only_in_a"])
    ]
    start = len(rows)
    rows += [
        PairRow(f"b:{unit['id']}", ONLY_B, None, unit, order=start + i)
        for i, unit in enumerate(document["only_in_b"])
    ]
    return rows


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Filters and sort order of the paired op table."""

    category: str | None = None
    scope: str = "all"
    search: str = ""
    device: str | None = None
    op_ids: frozenset[str] | None = None
    """Show only rows touching these "a:ID"/"b:ID" op ids (set when a finding is selected)."""
    sort: str = "program"


def select_rows(
    rows: Sequence[PairRow],
    view: RowFilter,
    placements_a: Placements | None = None,
    placements_b: Placements | None = None,
) -> list[PairRow]:
    """Return the rows that pass `view`'s filters, in `view.sort` order."""
    needle = view.search.lower()
    selected = []
    for row in rows:
        if view.category and row.category != view.category:
            continue
        if view.scope == "changed" and (row.kind != PAIR or not row.changes):
            continue
        if view.scope in (ONLY_A, ONLY_B) and row.kind != view.scope:
            continue
        if needle and not any(
            needle in side["id"].lower() or needle in side["type"].lower() for side in row.sides()
        ):
            continue
        if view.op_ids is not None and not (row.op_ids() & view.op_ids):
            continue
        if view.device and view.device not in _devices(row, placements_a, placements_b):
            continue
        selected.append(row)
    return sorted(selected, key=_sort_key(view.sort, placements_a, placements_b))


def _devices(
    row: PairRow, placements_a: Placements | None, placements_b: Placements | None
) -> set[str]:
    devices = set()
    if row.a is not None:
        devices.add(side_device(row.a, placements_a))
    if row.b is not None:
        devices.add(side_device(row.b, placements_b))
    return devices


def side_device(side: dict[str, Any], placements: Placements | None) -> str:
    """Return the device of one side of a row: the unit's own (its costliest op's), else its principal op's."""
    device = side.get("device")
    if device in STYLES and device != UNKNOWN:
        return device
    return device_of(placements, side["id"])


def side_ms(side: dict[str, Any], placements: Placements | None) -> float | None:
    """Return the estimated ms of one side of a row: the unit's (wrappers included), else its principal op's."""
    milliseconds = side.get("estimated_ms")
    if milliseconds is not None:
        return milliseconds
    return estimated_ms(placements, side["id"])


def row_latency(
    row: PairRow, placements_a: Placements | None, placements_b: Placements | None
) -> float | None:
    """Return the larger estimated latency of the row's two sides in ms, or None without a profile."""
    values = []
    if row.a is not None:
        values.append(side_ms(row.a, placements_a))
    if row.b is not None:
        values.append(side_ms(row.b, placements_b))
    known = [value for value in values if value is not None]
    return max(known) if known else None


def _sort_key(sort: str, placements_a: Placements | None, placements_b: Placements | None):
    # Sizes sort largest first and rows without a value go last. Ties keep document order.
    if sort == "bytes":
        return lambda row: (-max(side["weight_bytes"] for side in row.sides()), row.order)
    if sort == "cost":
        return lambda row: (-max(side["flops"] or 0 for side in row.sides()), row.order)
    if sort == "latency":
        return lambda row: (-(row_latency(row, placements_a, placements_b) or -1.0), row.order)
    if sort == "name":
        return lambda row: (row.name, row.order)
    return lambda row: row.order


def literal_text(literal: Literal) -> str:
    """Return a literal as text: its small value, or its type and stored size."""
    if literal.value is not None:
        text = repr(literal.value)
        return text if len(text) <= 60 else text[:57] + "..."
    place = "weight file" if literal.blob is not None else "inline"
    return f"{literal.type.describe()} ({literal.nbytes} B, {place})"


def op_detail(
    op_analysis: OpAnalysis, index: FunctionIndex, placements: Placements | None = None
) -> dict[str, Any]:
    """Return one op's type, attributes, typed inputs and outputs, weight storage, quantization and placement."""
    op = op_analysis.op
    inputs = []
    for param, bindings in op.inputs.items():
        for binding in bindings:
            if binding.name is not None:
                value = index.values.get(binding.name)
                value_type = value.type.describe() if value is not None else "?"
                inputs.append({"param": param, "value": binding.name, "type": value_type})
            elif binding.literal is not None:
                inputs.append(
                    {
                        "param": param,
                        "value": literal_text(binding.literal),
                        "type": binding.literal.type.describe(),
                    }
                )
    return {
        "id": op.id,
        "type": op.type,
        "category": op.category,
        "block": op.block,
        "attributes": {name: literal_text(literal) for name, literal in op.attributes.items()},
        "inputs": inputs,
        "outputs": [{"name": o.name, "type": o.type.describe()} for o in op.outputs],
        "weight": storage_record(op_analysis.weight),
        "weight_bytes": op_analysis.weight_bytes,
        "activations": [
            {"param": a.param, "quantized": a.quantized, "dtype": a.dtype}
            for a in op_analysis.activations
        ],
        "flops": op_analysis.flops,
        "bytes_moved": op_analysis.bytes_moved,
        **placement_detail(placements, op.id),
    }


def placement_detail(placements: Placements | None, op_id: str) -> dict[str, Any]:
    """Return an op's preferred device, supported devices, cost weight and estimated ms from a profile."""
    placement = (placements or {}).get(op_id) or {}
    return {
        "device": device_of(placements, op_id),
        "supported_devices": list(placement.get("supported_devices") or ()),
        "cost_weight": placement.get("cost_weight"),
        "estimated_ms": estimated_ms(placements, op_id),
    }


def neighbourhood(
    model: Model, op_id: str, hops: int, include_constants: bool = False
) -> dict[str, list[list[dict[str, str]]]]:
    """Return the producers and consumers of `op_id` up to `hops` edges away, one list per distance.

    `const` ops are left out unless `include_constants` is set. They have no
    producers, so leaving them out hides no op farther away.
    """
    function = op_id.split("/", 1)[0]
    if function not in model.function_names():
        return {"producers": [], "consumers": []}
    graph = model.graph(function)
    if op_id not in graph:
        return {"producers": [], "consumers": []}
    return {
        "producers": _rings(graph, op_id, hops, graph.predecessors, include_constants),
        "consumers": _rings(graph, op_id, hops, graph.successors, include_constants),
    }


def _rings(
    graph, start: str, hops: int, step, include_constants: bool
) -> list[list[dict[str, str]]]:
    seen = {start}
    frontier = [start]
    rings = []
    for _ in range(hops):
        ring = []
        for node in frontier:
            for other in step(node):
                if other in seen:
                    continue
                seen.add(other)
                if include_constants or graph.nodes[other]["op"].type != "const":
                    ring.append(other)
        if not ring:
            break
        rings.append([{"id": node, "type": graph.nodes[node]["op"].type} for node in ring])
        frontier = ring
    return rings
