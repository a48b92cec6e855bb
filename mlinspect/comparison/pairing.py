"""Pair the units of two models."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from difflib import SequenceMatcher

from mlinspect.analysis import categories as cat
from mlinspect.comparison.units import FunctionUnits, Unit
from mlinspect.mil.graph import FunctionIndex

# Suffixes coremltools appends to value names when it casts, quantizes or
# compresses them; two variants of one conversion differ only in these.
_NAME_SUFFIXES = re.compile(r"(_cast_fp16|_cast_fp32|_to_fp16|_to_fp32|_quantized|_dequantized|_palettized|_sparsified|_fp16|_fp32)+$")

ATTENTION_PATTERN = "attention_pattern"
_SCALING_OPS = frozenset({"mul", "real_div", "add", "cast"})


@dataclass(slots=True)
class Pair:
    a: Unit
    b: Unit
    method: str
    """Pairing step that matched the two units: "id", "signature", "shape", "type", "category" or "attention_group"."""


@dataclass(slots=True)
class Pairing:
    pairs: list[Pair]
    only_a: list[Unit]
    only_b: list[Unit]
    functions: list[tuple[str | None, str | None]]
    """(function in A, function in B) as matched by name or, for single-function models, by position."""


def normalized_name(unit: Unit) -> str:
    return _NAME_SUFFIXES.sub("", unit.principal.op.name)


def _signature(unit: Unit) -> Hashable:
    return (_kind(unit), unit.output_shapes, unit.weight_shape)


def _shape_signature(unit: Unit) -> Hashable:
    return (_kind(unit), unit.output_shapes)


def _type_signature(unit: Unit) -> Hashable:
    return _kind(unit)


def _category_signature(unit: Unit) -> Hashable:
    return unit.category


def _kind(unit: Unit) -> str:
    # A fused attention op and a matmul-softmax-matmul group compute the same thing.
    return "attention" if unit.type in (ATTENTION_PATTERN, "scaled_dot_product_attention") else unit.type


# Alignment levels, strictest first. Each later level aligns only what the earlier ones left.
_LEVELS: tuple[tuple[str, Callable[[Unit], Hashable]], ...] = (
    ("signature", _signature),
    ("shape", _shape_signature),
    ("type", _type_signature),
    ("category", _category_signature),
)


def pair_units(a: dict[str, FunctionUnits], b: dict[str, FunctionUnits]) -> Pairing:
    """Pair the units of two models, function by function.

    Matching two variants of one model is hard because conversion and
    compression rename values, insert ops (quantize/dequantize, casts,
    constexpr decompression) and can replace a group of ops with one fused
    op, so neither names nor op counts line up. The heuristic:

    1. Pair units whose normalized names match (the first output name without
       coremltools' `_cast_fp16`, `_quantized` ... suffixes) and whose op
       types and output shapes match. Variants made from one converted
       program keep names; separate conversions reuse generated names such
       as `var_1001` for unrelated ops, which the shape check rejects.
    2. Align the remaining units of each function in program order on a
       signature (op type, output shapes, weight shape) with a longest
       matching subsequence. What lies between the matched runs is aligned
       again on looser signatures: without the weight shape, then op type
       alone, then category alone. Program order keeps the alignment from pairing the
       first layer's linear with the last layer's.
    Before that, when only one side has fused `scaled_dot_product_attention`
    ops, each matmul → softmax → matmul chain of the other side becomes one
    attention unit (scaling ops are allowed before the softmax). The
    signature treats the two forms as the same kind. What is left after the
    alignment is reported as only in A or only in B.
    """
    function_pairs = _pair_functions(list(a), list(b))
    pairs: list[Pair] = []
    only_a: list[Unit] = []
    only_b: list[Unit] = []
    for name_a, name_b in function_pairs:
        function_result = _pair_function(a.get(name_a) if name_a else None, b.get(name_b) if name_b else None)
        pairs += function_result.pairs
        only_a += function_result.only_a
        only_b += function_result.only_b
    return Pairing(pairs, only_a, only_b, function_pairs)


def _pair_functions(names_a: list[str], names_b: list[str]) -> list[tuple[str | None, str | None]]:
    if len(names_a) == 1 and len(names_b) == 1:
        return [(names_a[0], names_b[0])]
    matched = [(name, name) for name in names_a if name in names_b]
    matched += [(name, None) for name in names_a if name not in names_b]
    matched += [(None, name) for name in names_b if name not in names_a]
    return matched


def _pair_function(function_a: FunctionUnits | None, function_b: FunctionUnits | None) -> Pairing:
    units_a = function_a.units if function_a else []
    units_b = function_b.units if function_b else []
    # Fused attention on one side only: group the other side's attention ops first.
    units_a, units_b = (
        _group_attention(units_a, units_b, function_a),
        _group_attention(units_b, units_a, function_b),
    )
    pairs: list[Pair] = []

    # 1. Names.
    by_name_b: dict[str, list[Unit]] = {}
    for unit in units_b:
        by_name_b.setdefault(normalized_name(unit), []).append(unit)
    rest_a = []
    taken_b: set[str] = set()
    for unit in units_a:
        candidates = [
            u for u in by_name_b.get(normalized_name(unit), ())
            if u.id not in taken_b and _shape_signature(u) == _shape_signature(unit)
        ]
        if candidates:
            pairs.append(Pair(unit, candidates[0], "id"))
            taken_b.add(candidates[0].id)
        else:
            rest_a.append(unit)
    rest_b = [unit for unit in units_b if unit.id not in taken_b]

    # 2. Alignment on signatures, strict to loose.
    aligned = _align(rest_a, rest_b, 0)
    pairs += aligned
    paired_a = {p.a.id for p in aligned}
    paired_b = {p.b.id for p in aligned}
    rest_a = [u for u in rest_a if u.id not in paired_a]
    rest_b = [u for u in rest_b if u.id not in paired_b]

    for pair in pairs:
        if ATTENTION_PATTERN in (pair.a.type, pair.b.type) and pair.a.type != pair.b.type:
            pair.method = "attention_group"

    pairs.sort(key=lambda p: (p.a.position, p.b.position))
    return Pairing(pairs, rest_a, rest_b, [])


def _align(units_a: list[Unit], units_b: list[Unit], level: int) -> list[Pair]:
    if not units_a or not units_b or level >= len(_LEVELS):
        return []
    method, signature = _LEVELS[level]
    keys_a = [signature(u) for u in units_a]
    keys_b = [signature(u) for u in units_b]
    matcher = SequenceMatcher(None, keys_a, keys_b, autojunk=False)

    pairs: list[Pair] = []
    start_a = start_b = 0
    for block in matcher.get_matching_blocks():
        # Align the gap before this run at the next, looser level.
        pairs += _align(units_a[start_a:block.a], units_b[start_b:block.b], level + 1)
        pairs += [Pair(units_a[block.a + k], units_b[block.b + k], method) for k in range(block.size)]
        start_a, start_b = block.a + block.size, block.b + block.size
    return pairs


def _group_attention(units: list[Unit], other: list[Unit], function: FunctionUnits | None) -> list[Unit]:
    """Replace matmul-softmax-matmul chains with one attention unit when only `other` has fused attention."""
    if function is None:
        return units
    fused_here = any(u.type == "scaled_dot_product_attention" for u in units)
    fused_there = any(u.type == "scaled_dot_product_attention" for u in other)
    if fused_here or not fused_there:
        return units
    groups = find_attention_patterns(units, function.index)
    if not groups:
        return units
    grouped_ids = {op_id: group for group in groups for op_id in group.op_ids}
    result = []
    for unit in units:
        group = grouped_ids.get(unit.id)
        if group is None:
            result.append(unit)
        elif unit.id == group.id:
            result.append(group)
    return result


def find_attention_patterns(units: list[Unit], index: FunctionIndex) -> list[Unit]:
    """Group each matmul → (scaling) → softmax → matmul chain among `units` into one attention unit."""
    by_id = {u.id: u for u in units}
    groups = []
    for unit in units:
        if unit.type != "softmax":
            continue
        producer = _producer_chain(unit, index, by_id)
        consumer = next(
            (by_id[c.id] for o in unit.principal.op.outputs for c, _ in index.consumers.get(o.name, ()) if c.id in by_id and c.type == "matmul"),
            None,
        )
        if producer is None or consumer is None:
            continue
        members = [*producer, unit, consumer]
        ops = [a for member in members for a in member.ops]
        group = Unit(consumer.id, unit.function, ATTENTION_PATTERN, cat.ATTENTION, ops, consumer.position)
        group.wrappers = [w for member in members for w in member.wrappers]
        groups.append(group)
    return groups


def _producer_chain(softmax: Unit, index: FunctionIndex, by_id: dict[str, Unit]) -> list[Unit] | None:
    """Walk from a softmax's input back through scaling ops to a matmul; return the chain, matmul first."""
    chain: list[Unit] = []
    current = softmax
    for _ in range(4):
        producers = [index.producers.get(name) for _, name in current.principal.op.input_names()]
        unit = next((by_id[p.id] for p in producers if p is not None and p.id in by_id), None)
        if unit is None:
            return None
        chain.insert(0, unit)
        if unit.type == "matmul":
            return chain
        if unit.type not in _SCALING_OPS:
            return None
        current = unit
    return None


__all__ = ["Pair", "Pairing", "find_attention_patterns", "normalized_name", "pair_units"]
