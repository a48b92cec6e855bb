"""Check a function's value references: op ids are unique and each input names a value defined before it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlinspect.errors import InvalidModelError
from mlinspect.mil.records import Block, NamedValue


@dataclass(slots=True)
class _Reference:
    """An op input or block output that names a value not visible where it is used."""

    user: str
    """Op id, or block path for a block output."""
    param: str
    name: str


@dataclass(slots=True)
class _ScopeWalk:
    visible: dict[str, int]
    """Names visible at the current point, each with the number of enclosing blocks that define it."""
    defined: set[str] = field(default_factory=set)
    op_ids: set[str] = field(default_factory=set)
    invisible: list[_Reference] = field(default_factory=list)

    def add(self, name: str) -> None:
        self.visible[name] = self.visible.get(name, 0) + 1
        self.defined.add(name)

    def remove(self, name: str) -> None:
        count = self.visible[name] - 1
        if count:
            self.visible[name] = count
        else:
            del self.visible[name]


def check_references(block: Block, inputs: tuple[NamedValue, ...], function: str, model_file: str) -> list[str]:
    """Return warnings for inputs that name values not defined before them; raise on a repeated op id.

    MIL is in SSA form: an op may use the function's inputs, its block's
    inputs, and values defined earlier in its block or an enclosing one. A
    name defined nowhere leaves the op without that edge in the graph. A name
    defined later or inside another block can make the graph cyclic. Both are
    reported and kept as written. Two ops with one id make op identity
    ambiguous everywhere, so they are an error.
    """
    walk = _ScopeWalk(visible={})
    for value in inputs:
        walk.add(value.name)
    _visit(block, walk, model_file)
    if not walk.invisible:
        return []

    undefined = [r for r in walk.invisible if r.name not in walk.defined]
    misplaced = [r for r in walk.invisible if r.name in walk.defined]
    warnings = []
    if undefined:
        warnings.append(
            f"{model_file}: function {function!r}: {_count(undefined)} that nothing defines, "
            f"e.g. {_example(undefined[0])}; the op graph has no edges for them"
        )
    if misplaced:
        warnings.append(
            f"{model_file}: function {function!r}: {_count(misplaced)} defined only later "
            f"or inside another block, e.g. {_example(misplaced[0])}; the op graph may contain cycles"
        )
    return warnings


def _visit(block: Block, walk: _ScopeWalk, model_file: str) -> None:
    scope = [value.name for value in block.inputs]
    for name in scope:
        walk.add(name)
    visible = walk.visible
    for op in block.operations:
        if op.id in walk.op_ids:
            raise InvalidModelError(
                model_file,
                f"invalid program: two ops have the id {op.id!r} (their first outputs share a name); "
                "MIL requires unique value names",
            )
        walk.op_ids.add(op.id)
        for param, name in op.input_names():
            if name not in visible:
                walk.invisible.append(_Reference(op.id, param, name))
        for nested in op.blocks:
            _visit(nested, walk, model_file)
        for output in op.outputs:
            scope.append(output.name)
            walk.add(output.name)
    for name in block.outputs:
        if name not in visible:
            walk.invisible.append(_Reference(block.path, "output", name))
    for name in scope:
        walk.remove(name)


def _count(references: list[_Reference]) -> str:
    return "1 reference names a value" if len(references) == 1 else f"{len(references)} references name values"


def _example(reference: _Reference) -> str:
    if reference.param == "output":
        return f"block {reference.user!r} returns {reference.name!r}"
    return f"input {reference.param!r} of op {reference.user!r} names {reference.name!r}"
