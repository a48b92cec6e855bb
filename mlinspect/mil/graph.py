"""Op graphs: producers and consumers of each value, and the networkx graph built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlinspect.mil.records import Binding, Function, Literal, NamedValue, Operation, ValueType

if TYPE_CHECKING:
    import networkx as nx


@dataclass(slots=True)
class FunctionIndex:
    """Producer and consumers of each value name of one function, nested blocks included."""

    function: Function
    ops: list[Operation] = field(default_factory=list)
    producers: dict[str, Operation] = field(default_factory=dict)
    values: dict[str, NamedValue] = field(default_factory=dict)
    consumers: dict[str, list[tuple[Operation, str]]] = field(default_factory=dict)
    """Value name to (consuming op, input parameter) pairs, in program order."""

    @classmethod
    def build(cls, function: Function) -> FunctionIndex:
        index = cls(function)
        for value in function.inputs:
            index.values[value.name] = value
        for op in function.walk():
            index.ops.append(op)
            for output in op.outputs:
                index.producers[output.name] = op
                index.values[output.name] = output
            for block in op.blocks:
                for value in block.inputs:
                    index.values[value.name] = value
        for op in index.ops:
            for param, name in op.input_names():
                index.consumers.setdefault(name, []).append((op, param))
        return index

    def input_type(self, op: Operation, param: str) -> ValueType | None:
        """Return the type of the first value bound to `param` of `op`, named or literal."""
        for binding in op.inputs.get(param, ()):
            if binding.literal is not None:
                return binding.literal.type
            if binding.name is not None:
                value = self.values.get(binding.name)
                return None if value is None else value.type
        return None

    def literal(self, binding: Binding) -> Literal | None:
        """Return a binding's literal, or the value of the `const` op it names; None for computed values."""
        if binding.literal is not None:
            return binding.literal
        producer = self.producers.get(binding.name) if binding.name is not None else None
        if producer is not None and producer.type == "const":
            return producer.attributes.get("val")
        return None

    def producer(self, op: Operation, param: str) -> Operation | None:
        """Return the op that produces the first named value bound to `param` of `op`."""
        for binding in op.inputs.get(param, ()):
            if binding.name is not None:
                return self.producers.get(binding.name)
        return None


def build_graph(function: Function) -> nx.MultiDiGraph:
    """Build the graph of one function: a node per op id, an edge per value from producer to consumer.

    Each node carries the Operation record as `op`; each edge is keyed by the
    value name and carries `name`, `dtype` and `shape`. Ops inside nested
    blocks are nodes too; values an inner op takes from the enclosing scope
    become edges from their outer producer.
    """
    import networkx as nx

    index = FunctionIndex.build(function)
    graph = nx.MultiDiGraph(function=function.name, opset=function.opset)
    graph.add_nodes_from((op.id, {"op": op}) for op in index.ops)
    for name, consumers in index.consumers.items():
        producer = index.producers.get(name)
        if producer is None:
            continue
        value = index.values[name]
        for consumer, _param in consumers:
            graph.add_edge(
                producer.id, consumer.id, key=name, name=name, dtype=value.type.dtype, shape=value.type.shape
            )
    return graph
