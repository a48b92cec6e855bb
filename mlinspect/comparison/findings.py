"""Findings: plain sentences about what changed between two models, ranked by the bytes involved."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import physical_weight_bytes
from mlinspect.analysis.roles import ATTENTION_IN, ATTENTION_OUT
from mlinspect.humanize import human_bytes, signed_bytes

if TYPE_CHECKING:
    from mlinspect.comparison.compare import Comparison
    from mlinspect.comparison.units import Unit

_ROLE_WORDS = {ATTENTION_IN: "attention input projection", ATTENTION_OUT: "attention output projection"}
_MAX_NAMED = 6


def _finding(kind: str, text: str, *, bytes_delta: int = 0, ops_a=(), ops_b=(), **numbers: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "text": text,
        "bytes": bytes_delta,
        "ms": None,
        "ops_a": list(ops_a),
        "ops_b": list(ops_b),
        "numbers": numbers,
    }


def _names(ids: list[str]) -> str:
    """Return the first few op names; whole ids (function/name) when the ops span several functions."""
    several_functions = len({i.split("/", 1)[0] for i in ids}) > 1
    shown = ", ".join(i if several_functions else i.rsplit("/", 1)[-1] for i in ids[:_MAX_NAMED])
    return shown + (f" and {len(ids) - _MAX_NAMED} more" if len(ids) > _MAX_NAMED else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _verb(count: int, plural: str, singular: str) -> str:
    return singular if count == 1 else plural


def _storage_words(dtype: str, scheme: str) -> str:
    """Return how weights are stored in words, e.g. "int8 weights" or "4-bit palettized weights"."""
    if dtype == "none":
        return "no constant weights"
    parts = []
    for piece in scheme.split("+"):
        if piece.startswith("lut_"):
            parts.append(f"{piece.removeprefix('lut_').replace('bit', '-bit')} palettized")
        elif piece == "sparse":
            parts.append("sparse")
    if not any("palettized" in part for part in parts):
        parts.append(dtype)
    return " ".join(parts) + " weights"


def _weight_dtype(unit: Unit) -> str:
    weight = unit.principal.weight
    return "none" if weight is None else weight.dtype


def _weight_scheme(unit: Unit) -> str:
    weight = unit.principal.weight
    return "none" if weight is None else weight.scheme


def _roles_text(comparison: Comparison, units: list[tuple[Unit, str]]) -> str:
    from mlinspect.comparison.compare import role_of

    roles = Counter(role_of(comparison, unit, side) for unit, side in units)
    parts = [f"{count} {_ROLE_WORDS[role]}{'s' if count > 1 else ''}" for role, count in roles.items() if role]
    if parts and roles[None]:
        parts.append(f"{roles[None]} other{'s' if roles[None] > 1 else ''}")
    return f" ({', '.join(parts)})" if parts else ""


def collect_findings(comparison: Comparison) -> list[dict[str, Any]]:
    """Return every finding, ranked by the absolute bytes involved; weight findings sum to the weight delta."""
    findings = []
    findings += _weight_findings(comparison)
    findings += _activation_findings(comparison)
    findings += _quantize_op_findings(comparison)
    findings += _attention_findings(comparison)
    findings += _unpaired_findings(comparison)
    findings += _device_findings(comparison)
    findings += _op_change_findings(comparison)
    if all(f["kind"] == "activations_quantized_in_neither" for f in findings):
        # What both models share is only worth saying next to a difference.
        return []
    if comparison.profiled:
        _add_latency(comparison, findings)
        findings.sort(key=lambda f: (-abs(f["ms"] or 0.0), -abs(f["bytes"])))
    else:
        findings.sort(key=lambda f: -abs(f["bytes"]))
    return findings


def _add_latency(comparison: Comparison, findings: list[dict[str, Any]]) -> None:
    """Set each finding's `ms`: the estimated latency of its ops in B minus in A, and append it to the text."""
    from mlinspect.comparison.timing import unit_ms

    units_by_side = {side: {u.id: u for u in _all_units(comparison, side)} for side in ("a", "b")}

    def side_ms(op_ids: list[str], side: str) -> float:
        profile = comparison.side_profile(side)
        units = units_by_side[side]
        timings = profile.attribution.ops
        total = 0.0
        for op_id in op_ids:
            if op_id in units:
                total += unit_ms(units[op_id], profile) or 0.0
            elif op_id in timings and timings[op_id].estimated_ms is not None:
                total += timings[op_id].estimated_ms
        return total

    for finding in findings:
        ms_a, ms_b = side_ms(finding["ops_a"], "a"), side_ms(finding["ops_b"], "b")
        finding["ms"] = ms_b - ms_a
        finding["numbers"]["estimated_ms_a"] = ms_a
        finding["numbers"]["estimated_ms_b"] = ms_b
        if ms_a or ms_b:
            finding["text"] += f" [{ms_a:.3f} ms → {ms_b:.3f} ms, estimated from the compute plan]"


def _all_units(comparison: Comparison, side: str) -> list[Unit]:
    pairs = comparison.pairing.pairs
    if side == "a":
        return [p.a for p in pairs] + comparison.pairing.only_a
    return [p.b for p in pairs] + comparison.pairing.only_b


def _op_change_findings(comparison: Comparison) -> list[dict[str, Any]]:
    """Group pairs whose settings (axes, flags, small constants) or output types differ, which no other finding covers."""
    from mlinspect.comparison.compare import unit_settings

    groups: dict[tuple[str, str], list] = defaultdict(list)
    for pair in comparison.pairing.pairs:
        if pair.method == "attention_group":
            continue  # the attention finding covers these
        settings_a = unit_settings(pair.a, comparison.a)
        settings_b = unit_settings(pair.b, comparison.b)
        changed = sorted(k for k in set(settings_a) | set(settings_b) if settings_a.get(k) != settings_b.get(k))
        outputs_a = [o.type.describe() for o in pair.a.principal.op.outputs]
        outputs_b = [o.type.describe() for o in pair.b.principal.op.outputs]
        kinds = []
        if changed:
            kinds.append("settings (" + ", ".join(changed) + ")")
        if pair.a.type != pair.b.type:
            kinds.append(f"type ({pair.a.type} → {pair.b.type})")
        elif outputs_a != outputs_b:
            kinds.append("output types or shapes")
        if kinds:
            groups[(pair.a.type, " and ".join(kinds))].append(pair)
    return [
        _finding(
            "op_changes",
            f"{_plural(len(pairs), f'{op_type} op')} {_verb(len(pairs), 'change', 'changes')} {what}; "
            f"{_names([p.a.id for p in pairs])}",
            ops_a=[p.a.id for p in pairs], ops_b=[p.b.id for p in pairs], count=len(pairs), changes=what,
        )
        for (op_type, what), pairs in groups.items()
    ]


_DEVICE_WORDS = {"neural_engine": "the Neural Engine", "gpu": "the GPU", "cpu": "the CPU"}


def _device_findings(comparison: Comparison) -> list[dict[str, Any]]:
    if not comparison.profiled:
        return []
    from mlinspect.comparison.timing import unit_device

    groups: dict[tuple[str, str, str], list] = defaultdict(list)
    for pair in comparison.pairing.pairs:
        device_a = unit_device(pair.a, comparison.profile_a)
        device_b = unit_device(pair.b, comparison.profile_b)
        if device_a and device_b and device_a != device_b:
            groups[(pair.a.type, device_a, device_b)].append(pair)
    findings = []
    for (op_type, device_a, device_b), pairs in groups.items():
        findings.append(_finding(
            "device_change",
            f"{_plural(len(pairs), f'{op_type} op')} {_verb(len(pairs), 'run', 'runs')} on "
            f"{_DEVICE_WORDS.get(device_a, device_a)} in A and on {_DEVICE_WORDS.get(device_b, device_b)} in B; "
            f"{_names([p.a.id for p in pairs])}",
            ops_a=[p.a.id for p in pairs], ops_b=[p.b.id for p in pairs],
            count=len(pairs), device_a=device_a, device_b=device_b,
        ))
    return findings


def _weight_findings(comparison: Comparison) -> list[dict[str, Any]]:
    """Group every weight-byte difference by its cause; the groups add up to B's weight bytes minus A's.

    Sums count each blob once, for the first op that claims it. So weights
    that the functions of a multifunction program share count once. The
    per-op delta only decides whether a pair changed.
    """
    stored_a, stored_b = physical_weight_bytes(comparison.a), physical_weight_bytes(comparison.b)
    groups: dict[tuple, list] = defaultdict(list)
    for pair in comparison.pairing.pairs:
        delta = pair.b.weight_bytes - pair.a.weight_bytes
        dtype_a, dtype_b = _weight_dtype(pair.a), _weight_dtype(pair.b)
        scheme_a, scheme_b = _weight_scheme(pair.a), _weight_scheme(pair.b)
        if delta == 0 and dtype_a == dtype_b and scheme_a == scheme_b:
            continue
        groups[(pair.a.type, dtype_a, scheme_a, dtype_b, scheme_b)].append(pair)

    findings = []
    for (op_type, dtype_a, scheme_a, dtype_b, scheme_b), pairs in groups.items():
        bytes_a = sum(_stored_bytes(p.a, stored_a) for p in pairs)
        bytes_b = sum(_stored_bytes(p.b, stored_b) for p in pairs)
        count = _plural(len(pairs), f"{op_type} op")
        roles = _roles_text(comparison, [(p.a, "a") for p in pairs])
        words_a, words_b = _storage_words(dtype_a, scheme_a), _storage_words(dtype_b, scheme_b)
        if words_a != words_b:
            text = f"{count}{roles} {_verb(len(pairs), 'store', 'stores')} {words_a} in A and {words_b} in B"
        elif scheme_a != scheme_b:
            text = (
                f"{count}{roles} {_verb(len(pairs), 'store', 'stores')} {words_a} "
                f"compressed as {scheme_a} in A and {scheme_b} in B"
            )
        else:
            text = f"{count}{roles} {_verb(len(pairs), 'keep', 'keeps')} {words_a} but their stored size changes"
        text += f": {human_bytes(bytes_a)} → {human_bytes(bytes_b)} ({signed_bytes(bytes_b - bytes_a)}); {_names([p.a.id for p in pairs])}"
        findings.append(_finding(
            "weight_storage", text, bytes_delta=bytes_b - bytes_a,
            ops_a=[p.a.id for p in pairs], ops_b=[p.b.id for p in pairs],
            count=len(pairs), bytes_a=bytes_a, bytes_b=bytes_b, dtype_a=dtype_a, dtype_b=dtype_b,
            scheme_a=scheme_a, scheme_b=scheme_b,
        ))

    sides = (("A", comparison.pairing.only_a, -1, stored_a), ("B", comparison.pairing.only_b, 1, stored_b))
    for side, units, sign, stored in sides:
        weighted = [u for u in units if _stored_bytes(u, stored)]
        if weighted:
            total = sum(_stored_bytes(u, stored) for u in weighted)
            types = Counter(u.type for u in weighted)
            kinds = ", ".join(f"{n} {t}" for t, n in types.most_common())
            findings.append(_finding(
                "weights_only_in_" + side.lower(),
                f"{_plural(len(weighted), 'op')} with weights {_verb(len(weighted), 'exist', 'exists')} only in {side} ({kinds}): {human_bytes(total)}; "
                f"{_names([u.id for u in weighted])}",
                bytes_delta=sign * total,
                ops_a=[u.id for u in weighted] if side == "A" else [],
                ops_b=[u.id for u in weighted] if side == "B" else [],
                count=len(weighted), bytes=total,
            ))

    unattached = _unattached_bytes(comparison, stored_a, stored_b)
    if unattached:
        findings.append(_finding(
            "weights_unattached",
            f"constants that feed no op doing work change by {signed_bytes(unattached)}",
            bytes_delta=unattached,
        ))
    return findings


def _stored_bytes(unit: Unit, stored: dict[str, int]) -> int:
    """Return the bytes of the blobs that the unit's ops and wrappers claim first in their program."""
    return sum(stored.get(x.id, 0) for x in unit.ops) + sum(stored.get(w.id, 0) for w in unit.wrappers)


def _unattached_bytes(comparison: Comparison, stored_a: dict[str, int], stored_b: dict[str, int]) -> int:
    total_a = sum(stored_a.get(w.id, 0) for f in comparison.units_a.values() for w in f.unattached)
    total_b = sum(stored_b.get(w.id, 0) for f in comparison.units_b.values() for w in f.unattached)
    return total_b - total_a


def _activation_findings(comparison: Comparison) -> list[dict[str, Any]]:
    groups: dict[tuple, list] = defaultdict(list)
    neither = []
    for pair in comparison.pairing.pairs:
        if not pair.a.is_compute() and not pair.b.is_compute():
            continue
        state_a = _activation_state(pair.a)
        state_b = _activation_state(pair.b)
        if state_a != state_b:
            groups[(pair.a.type, state_a, state_b)].append(pair)
        if _not_quantized(state_a) and _not_quantized(state_b):
            neither.append(pair)

    findings = []
    for (op_type, state_a, state_b), pairs in groups.items():
        moved = sum((p.b.principal.bytes_moved or 0) - (p.a.principal.bytes_moved or 0) for p in pairs)
        roles = _roles_text(comparison, [(p.a, "a") for p in pairs])
        findings.append(_finding(
            "activation_quantization",
            f"{_plural(len(pairs), f'{op_type} op')}{roles} {_verb(len(pairs), 'take', 'takes')} {state_a} activations in A and {state_b} ones in B; "
            f"{_names([p.a.id for p in pairs])}",
            bytes_delta=moved,
            ops_a=[p.a.id for p in pairs], ops_b=[p.b.id for p in pairs],
            count=len(pairs), state_a=state_a, state_b=state_b, bytes_moved_delta=moved,
        ))

    quantizing = _has_activation_quantization(comparison.a) or _has_activation_quantization(comparison.b)
    if neither and quantizing:
        by_type = defaultdict(list)
        for pair in neither:
            by_type[pair.a.type].append(pair)
        for op_type, pairs in by_type.items():
            moved = sum(p.a.principal.bytes_moved or 0 for p in pairs)
            roles = _roles_text(comparison, [(p.a, "a") for p in pairs])
            partly = sum(
                _activation_state(p.a).startswith("partly") or _activation_state(p.b).startswith("partly") for p in pairs
            )
            text = (
                f"{_plural(len(pairs), f'{op_type} op')}{roles} {_verb(len(pairs), 'have', 'has')} "
                f"no fully quantized activations in either model"
            )
            if partly:
                text += f"; {partly} of them take some inputs from a dequantize on one side"
            text += f"; {_names([p.a.id for p in pairs])}"
            findings.append(_finding(
                "activations_quantized_in_neither", text, bytes_delta=0,
                ops_a=[p.a.id for p in pairs], ops_b=[p.b.id for p in pairs],
                count=len(pairs), partly_quantized=partly, bytes_moved_a=moved,
            ))
    return findings


def _not_quantized(state: str) -> bool:
    return state == "float" or state.startswith("partly quantized")


def _activation_state(unit: Unit) -> str:
    activations = [x for member in unit.ops for x in member.activations]
    if not activations:
        return "no"
    if all(x.quantized for x in activations):
        return "/".join(sorted({x.dtype or "quantized" for x in activations}))
    if any(x.quantized for x in activations):
        quantized = sorted(x.param for x in activations if x.quantized)
        return f"partly quantized ({', '.join(quantized)} from a dequantize)"
    return "float"


def _has_activation_quantization(analysis) -> bool:
    return any(x.op.type == "dequantize" for x in analysis.ops)


def _quantize_op_findings(comparison: Comparison) -> list[dict[str, Any]]:
    counts_a = Counter(x.op.type for x in comparison.a.ops if x.op.category == cat.ACTIVATION_QUANT)
    counts_b = Counter(x.op.type for x in comparison.b.ops if x.op.category == cat.ACTIVATION_QUANT)
    if counts_a == counts_b:
        return []
    moved_a = sum(x.bytes_moved or 0 for x in comparison.a.ops if x.op.category == cat.ACTIVATION_QUANT)
    moved_b = sum(x.bytes_moved or 0 for x in comparison.b.ops if x.op.category == cat.ACTIVATION_QUANT)
    ids_a = [x.id for x in comparison.a.ops if x.op.category == cat.ACTIVATION_QUANT]
    ids_b = [x.id for x in comparison.b.ops if x.op.category == cat.ACTIVATION_QUANT]
    text = (
        f"runtime activation quantization ops: A has {counts_a['quantize']} quantize and {counts_a['dequantize']} dequantize, "
        f"B has {counts_b['quantize']} quantize and {counts_b['dequantize']} dequantize; "
        f"they move {human_bytes(moved_a)} in A and {human_bytes(moved_b)} in B per prediction (static estimate)"
    )
    return [_finding(
        "quantize_ops", text, bytes_delta=moved_b - moved_a, ops_a=ids_a, ops_b=ids_b,
        quantize_a=counts_a["quantize"], dequantize_a=counts_a["dequantize"],
        quantize_b=counts_b["quantize"], dequantize_b=counts_b["dequantize"],
        bytes_moved_a=moved_a, bytes_moved_b=moved_b,
    )]


def _attention_findings(comparison: Comparison) -> list[dict[str, Any]]:
    grouped = [p for p in comparison.pairing.pairs if p.method == "attention_group"]
    if not grouped:
        return []
    fused_side = "A" if grouped[0].a.type == "scaled_dot_product_attention" else "B"
    other_side = "B" if fused_side == "A" else "A"
    return [_finding(
        "attention_fused",
        f"attention is fused in {fused_side} ({_plural(len(grouped), 'scaled_dot_product_attention op')}) "
        f"and runs as {len(grouped)} matmul → softmax → matmul chains in {other_side}; all paired as groups",
        bytes_delta=sum((p.b.principal.bytes_moved or 0) - (p.a.principal.bytes_moved or 0) for p in grouped),
        ops_a=[op for p in grouped for op in p.a.op_ids], ops_b=[op for p in grouped for op in p.b.op_ids],
        count=len(grouped), fused_in=fused_side,
    )]


def _unpaired_findings(comparison: Comparison) -> list[dict[str, Any]]:
    findings = []
    for side, units in (("A", comparison.pairing.only_a), ("B", comparison.pairing.only_b)):
        if not units:
            continue
        types = Counter(u.type for u in units)
        kinds = ", ".join(f"{n} {t}" for t, n in types.most_common(8))
        if len(types) > 8:
            kinds += f" and {len(types) - 8} more types"
        moved = sum(u.principal.bytes_moved or 0 for u in units)
        findings.append(_finding(
            f"only_in_{side.lower()}",
            f"{_plural(len(units), 'op')} {_verb(len(units), 'exist', 'exists')} only in {side}: {kinds}; {_names([u.id for u in units])}",
            bytes_delta=moved if side == "B" else -moved,
            ops_a=[u.id for u in units] if side == "A" else [],
            ops_b=[u.id for u in units] if side == "B" else [],
            count=len(units), by_type=dict(types),
        ))
    return findings
