"""Compare two models: pair their ops, total each category on both sides, and collect findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import (
    ModelAnalysis,
    analyze,
    physical_claims,
    storage_record,
    unique_blobs,
)
from mlinspect.analysis.roles import linear_role
from mlinspect.comparison.pairing import Pairing, pair_units
from mlinspect.comparison.timing import SideProfile, category_ms, unit_device, unit_ms
from mlinspect.comparison.units import FunctionUnits, Unit, build_units
from mlinspect.mil.records import Model

SCHEMA = "mlinspect.diff/1"


@dataclass(slots=True)
class Comparison:
    """Everything `mlinspect diff` reports; views render it and compute nothing."""

    a: ModelAnalysis
    b: ModelAnalysis
    units_a: dict[str, FunctionUnits]
    units_b: dict[str, FunctionUnits]
    pairing: Pairing
    roles: dict[str, dict[str, str]]
    """Attention role of linear ops by op id, per side ("a", "b")."""
    findings: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    coverage: dict[str, Any]
    profile_a: SideProfile | None = None
    profile_b: SideProfile | None = None
    """Profile overlays keyed by op id; latency in them is estimated from the compute plan."""

    @property
    def profiled(self) -> bool:
        return self.profile_a is not None and self.profile_b is not None

    def side_profile(self, side: str) -> SideProfile | None:
        return self.profile_a if side == "a" else self.profile_b

    @property
    def identical(self) -> bool:
        return not self.findings and not self.pairing.only_a and not self.pairing.only_b


def compare(
    a: Model | ModelAnalysis,
    b: Model | ModelAnalysis,
    profile_a: SideProfile | None = None,
    profile_b: SideProfile | None = None,
) -> Comparison:
    """Pair the ops of `a` and `b` and explain their differences; see `pair_units` for how pairing works.

    With a profile for each side, units and categories carry estimated
    latency and devices, and findings rank by time instead of bytes.
    """
    from mlinspect.comparison.findings import collect_findings

    analysis_a = a if isinstance(a, ModelAnalysis) else analyze(a)
    analysis_b = b if isinstance(b, ModelAnalysis) else analyze(b)
    units_a, units_b = build_units(analysis_a), build_units(analysis_b)
    pairing = pair_units(units_a, units_b)
    roles = {"a": _roles(analysis_a), "b": _roles(analysis_b)}
    comparison = Comparison(
        a=analysis_a,
        b=analysis_b,
        units_a=units_a,
        units_b=units_b,
        pairing=pairing,
        roles=roles,
        findings=[],
        categories=_categories(analysis_a, analysis_b, pairing, profile_a, profile_b),
        coverage=_coverage(analysis_a, analysis_b, pairing),
        profile_a=profile_a,
        profile_b=profile_b,
    )
    comparison.findings = collect_findings(comparison)
    return comparison


def role_of(comparison: Comparison, unit: Unit, side: str) -> str | None:
    return comparison.roles[side].get(unit.id)


def _roles(analysis: ModelAnalysis) -> dict[str, str]:
    roles = {}
    for op_analysis in analysis.compute_ops():
        op = op_analysis.op
        if op.type not in ("linear", "matmul") or op_analysis.weight is None:
            continue
        role = linear_role(op, analysis.indexes[op.function])
        if role is not None:
            roles[op.id] = role
    return roles


def _paired_op_ids(pairing: Pairing) -> tuple[set[str], set[str]]:
    paired_a = {op_id for pair in pairing.pairs for op_id in pair.a.op_ids}
    paired_b = {op_id for pair in pairing.pairs for op_id in pair.b.op_ids}
    return paired_a, paired_b


def _coverage(a: ModelAnalysis, b: ModelAnalysis, pairing: Pairing) -> dict[str, Any]:
    """Return the share of compute ops (matmul, attention, conv) paired, overall and per category."""
    paired_a, paired_b = _paired_op_ids(pairing)
    per_category = {}
    totals = Counter()
    for category in cat.COMPUTE_CATEGORIES:
        ops_a = [x.id for x in a.ops if x.op.category == category]
        ops_b = [x.id for x in b.ops if x.op.category == category]
        if not ops_a and not ops_b:
            continue
        paired = sum(op_id in paired_a for op_id in ops_a) + sum(op_id in paired_b for op_id in ops_b)
        total = len(ops_a) + len(ops_b)
        totals["paired"] += paired
        totals["total"] += total
        per_category[category] = {
            "a": len(ops_a), "b": len(ops_b), "paired_a": sum(op_id in paired_a for op_id in ops_a),
            "paired_b": sum(op_id in paired_b for op_id in ops_b), "share": paired / total,
        }
    basis = "compute"
    if not totals["total"]:
        # Without compute ops on either side, coverage is over every op that does work.
        basis = "all"
        units = len(pairing.only_a) + len(pairing.only_b) + 2 * len(pairing.pairs)
        totals["total"] = units
        totals["paired"] = 2 * len(pairing.pairs)
    return {
        "basis": basis,
        "compute": totals["paired"] / totals["total"] if totals["total"] else 1.0,
        "compute_ops": totals["total"],
        "compute_ops_paired": totals["paired"],
        "by_category": per_category,
        "pairs": len(pairing.pairs),
        "only_in_a": len(pairing.only_a),
        "only_in_b": len(pairing.only_b),
    }


def _side_totals(analysis: ModelAnalysis, paired: set[str]) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for x in analysis.ops:
        entry = totals.setdefault(x.op.category, {
            "ops": 0, "weight_bytes": 0, "flops": 0, "bytes_moved": 0, "without_cost": 0,
            "quantized_weights": 0, "quantized_activations": 0, "paired": 0,
        })
        entry["ops"] += 1
        entry["paired"] += x.id in paired
        if x.flops is None or x.bytes_moved is None:
            entry["without_cost"] += 1
        entry["flops"] += x.flops or 0
        entry["bytes_moved"] += x.bytes_moved or 0
        if x.op.category in cat.COMPUTE_CATEGORIES:
            entry["quantized_weights"] += bool(x.weight and x.weight.quantized)
            entry["quantized_activations"] += x.activations_quantized
    for x, blob, _scheme in physical_claims(analysis):
        totals[x.op.category]["weight_bytes"] += blob.nbytes
    return totals


def _categories(
    a: ModelAnalysis,
    b: ModelAnalysis,
    pairing: Pairing,
    profile_a: SideProfile | None,
    profile_b: SideProfile | None,
) -> list[dict[str, Any]]:
    paired_a, paired_b = _paired_op_ids(pairing)
    totals_a, totals_b = _side_totals(a, paired_a), _side_totals(b, paired_b)
    empty = {"ops": 0, "weight_bytes": 0, "flops": 0, "bytes_moved": 0, "without_cost": 0,
             "quantized_weights": 0, "quantized_activations": 0, "paired": 0}
    rows = []
    for category in cat.CATEGORIES:
        if category not in totals_a and category not in totals_b:
            continue
        side_a = totals_a.get(category, empty)
        side_b = totals_b.get(category, empty)
        ms_a, ms_b = category_ms(profile_a, category), category_ms(profile_b, category)
        rows.append({
            "category": category,
            "a": side_a,
            "b": side_b,
            "delta": {key: side_b[key] - side_a[key] for key in ("ops", "weight_bytes", "flops", "bytes_moved")},
            "estimated_ms": {
                "a": ms_a,
                "b": ms_b,
                "delta": None if ms_a is None or ms_b is None else ms_b - ms_a,
            },
        })
    return rows


def unit_record(comparison: Comparison, unit: Unit, side: str) -> dict[str, Any]:
    """Return one side of a pair (or an unpaired unit) as plain data."""
    principal = unit.principal
    return {
        "id": unit.id,
        "ops": unit.op_ids,
        "type": unit.type,
        "category": unit.category,
        "function": unit.function,
        "role": role_of(comparison, unit, side),
        "weight": storage_record(principal.weight),
        "weight_bytes": unit.weight_bytes,
        "activations": [
            {"param": x.param, "quantized": x.quantized, "dtype": x.dtype}
            for member in unit.ops for x in member.activations
        ],
        "flops": _sum_or_none(m.flops for m in unit.ops),
        "bytes_moved": _sum_or_none(m.bytes_moved for m in unit.ops),
        "outputs": [o.type.describe() for o in principal.op.outputs],
        "wrappers": [w.id for w in unit.wrappers],
        "settings": unit_settings(unit, comparison.a if side == "a" else comparison.b),
        "device": unit_device(unit, comparison.side_profile(side)),
        "estimated_ms": unit_ms(unit, comparison.side_profile(side)),
    }


def unit_settings(unit: Unit, analysis: ModelAnalysis) -> dict[str, Any]:
    """Return the small literal inputs and attributes of the unit's principal op, such as axes or transpose flags.

    A value counts when it is written into the op or comes from a `const` op
    whose value the reader kept (at most 64 elements). Weights in a weight
    file do not count.
    """
    op = unit.principal.op
    index = analysis.indexes[op.function]
    settings: dict[str, Any] = {}
    for key, literal in op.attributes.items():
        if key != "name" and literal.blob is None and literal.value is not None:
            settings[key] = literal.value
    for param, bindings in op.inputs.items():
        values = []
        for binding in bindings:
            literal = index.literal(binding)
            if literal is None or literal.blob is not None or literal.value is None:
                break
            values.append(literal.value)
        else:
            if values:
                settings[param] = values[0] if len(values) == 1 else values
    return settings


def _sum_or_none(values) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def pair_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Return what differs between the two sides of a pair, as short phrases."""
    changes = []
    if a["type"] != b["type"]:
        changes.append(f"type {a['type']} → {b['type']}")
    weight_a, weight_b = a["weight"], b["weight"]
    if (weight_a or {}).get("dtype") != (weight_b or {}).get("dtype"):
        changes.append(f"weight dtype {(weight_a or {}).get('dtype', 'none')} → {(weight_b or {}).get('dtype', 'none')}")
    elif (weight_a or {}).get("scheme") != (weight_b or {}).get("scheme"):
        changes.append(f"weight scheme {(weight_a or {}).get('scheme')} → {(weight_b or {}).get('scheme')}")
    if a["weight_bytes"] != b["weight_bytes"]:
        changes.append(f"weight bytes {a['weight_bytes']} → {b['weight_bytes']}")
    act_a = _activation_text(a)
    act_b = _activation_text(b)
    if act_a != act_b:
        changes.append(f"activations {act_a} → {act_b}")
    if a["outputs"] != b["outputs"]:
        changes.append(f"outputs {', '.join(a['outputs'])} → {', '.join(b['outputs'])}")
    # Settings of ops of different types (a fused op and its group) do not compare.
    shared = set(a["settings"]) | set(b["settings"]) if a["type"] == b["type"] else set()
    for key in sorted(shared):
        value_a, value_b = a["settings"].get(key), b["settings"].get(key)
        if value_a != value_b:
            changes.append(f"{key} {_short(value_a)} → {_short(value_b)}")
    if a["device"] != b["device"] and a["device"] is not None and b["device"] is not None:
        changes.append(f"device {a['device']} → {b['device']}")
    return changes


def _short(value: Any) -> str:
    text = "unset" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _activation_text(side: dict[str, Any]) -> str:
    if not side["activations"]:
        return "none"
    return ", ".join(f"{x['param']}:{x['dtype'] if x['quantized'] else 'float'}" for x in side["activations"])


def to_json(comparison: Comparison) -> dict[str, Any]:
    """Return the comparison as the `mlinspect diff --json` document."""
    pairs = []
    for pair in comparison.pairing.pairs:
        side_a = unit_record(comparison, pair.a, "a")
        side_b = unit_record(comparison, pair.b, "b")
        pairs.append({"method": pair.method, "changes": pair_changes(side_a, side_b), "a": side_a, "b": side_b})
    model_a, model_b = comparison.a.model, comparison.b.model
    return {
        "schema": SCHEMA,
        "a": {**_model_header(comparison.a), "profile": comparison.profile_a.header() if comparison.profile_a else None},
        "b": {**_model_header(comparison.b), "profile": comparison.profile_b.header() if comparison.profile_b else None},
        "coverage": comparison.coverage["compute"],
        "coverage_detail": comparison.coverage,
        "weights": {
            "a": _total_weight_bytes(comparison.a),
            "b": _total_weight_bytes(comparison.b),
            "delta": _total_weight_bytes(comparison.b) - _total_weight_bytes(comparison.a),
        },
        "categories": comparison.categories,
        "findings": comparison.findings,
        "pairs": pairs,
        "only_in_a": [unit_record(comparison, u, "a") for u in comparison.pairing.only_a],
        "only_in_b": [unit_record(comparison, u, "b") for u in comparison.pairing.only_b],
        "warnings": [*(f"A: {w}" for w in model_a.warnings), *(f"B: {w}" for w in model_b.warnings)],
    }


def _total_weight_bytes(analysis: ModelAnalysis) -> int:
    return sum(blob.nbytes for blob in unique_blobs(analysis.model).values())


def _model_header(analysis: ModelAnalysis) -> dict[str, Any]:
    model = analysis.model
    return {
        "path": model.path,
        "type": model.kind,
        "specification_version": model.specification_version,
        "opsets": sorted({f.opset for m in model.programs() for f in m.program.functions.values()}),
        "ops": len(analysis.ops),
        "weight_bytes": _total_weight_bytes(analysis),
        "description": model.metadata.get("shortDescription", ""),
    }
