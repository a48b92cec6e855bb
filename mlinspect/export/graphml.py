"""GraphML export of a model's op graphs, written with networkx."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from mlinspect.analysis.ops import ModelAnalysis
from mlinspect.export.attributes import node_attributes
from mlinspect.profile.attribution import Attribution
from mlinspect.profile.record import ESTIMATE_LABEL

if TYPE_CHECKING:
    import networkx as nx


def graphml_graph(
    analysis: ModelAnalysis, attribution: Attribution | None = None
) -> nx.MultiDiGraph:
    """Return one MultiDiGraph of every function: nodes keyed by op id, an edge per value.

    Node and edge attributes are strings and numbers only, because networkx
    writes each as a typed GraphML key. A profiled op also gets `device` and
    `estimated_ms` (estimated from the compute plan).
    """
    import networkx as nx

    model = analysis.model
    graph = nx.MultiDiGraph(model=model.path)
    if attribution is not None:
        graph.graph["compute_units"] = attribution.compute_units
        graph.graph["estimate"] = ESTIMATE_LABEL
    by_id = analysis.by_id()
    timings = attribution.ops if attribution is not None else {}
    for function in model.function_names():
        function_graph = model.graph(function)
        for op_id in function_graph.nodes:
            graph.add_node(op_id, **node_attributes(by_id[op_id], timings.get(op_id)))
        for source, target, key, data in function_graph.edges(keys=True, data=True):
            shape = data.get("shape")
            graph.add_edge(
                source,
                target,
                key=key,
                value=data["name"],
                dtype=data.get("dtype") or "",
                shape="?" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]",
            )
    return graph


def write_graphml(
    analysis: ModelAnalysis, destination: IO[bytes], attribution: Attribution | None = None
) -> None:
    """Write the GraphML document to a binary file object."""
    import networkx as nx

    nx.write_graphml(
        graphml_graph(analysis, attribution), destination, encoding="utf-8", prettyprint=True
    )
