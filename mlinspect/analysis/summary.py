"""The summary of one model: description, op counts, weight bytes and quantization coverage."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import ModelAnalysis, analyze, physical_claims, unique_blobs
from mlinspect.analysis.weights import FLOAT_DTYPES
from mlinspect.mil.records import Feature, Model

SCHEMA = "mlinspect.summary/1"

# Opset names in MIL programs and the OS releases that introduced them.
OPSET_TARGETS = {
    "CoreML5": "iOS15/macOS12",
    "CoreML6": "iOS16/macOS13",
    "CoreML7": "iOS17/macOS14",
    "CoreML8": "iOS18/macOS15",
    "CoreML9": "iOS26/macOS26",
}
# Specification versions and the minimum OS releases that load them.
SPEC_TARGETS = {
    1: "iOS11/macOS10.13", 2: "iOS11.2/macOS10.13.2", 3: "iOS12/macOS10.14", 4: "iOS13/macOS10.15",
    5: "iOS14/macOS11", 6: "iOS15/macOS12", 7: "iOS16/macOS13", 8: "iOS17/macOS14",
    9: "iOS18/macOS15", 10: "iOS26/macOS26",
}


def feature_record(feature: Feature) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": feature.name,
        "kind": feature.kind,
        "dtype": feature.dtype,
        "shape": None if feature.shape is None else list(feature.shape),
        "flexible": feature.flexible,
    }
    if feature.flexible:
        record["shapes"] = [list(s) for s in feature.shapes]
    return record


def summarize(model: Model, analysis: ModelAnalysis | None = None) -> dict[str, Any]:
    """Return the summary of `model` as plain data in the order the report and `--json` show it."""
    analysis = analysis or analyze(model)
    opsets = sorted({f.opset for m in model.programs() for f in m.program.functions.values()})
    meta = model.metadata
    summary: dict[str, Any] = {
        "schema": SCHEMA,
        "model": {
            "path": model.path,
            "type": model.kind,
            "specification_version": model.specification_version,
            "deployment_target": SPEC_TARGETS.get(model.specification_version, "unknown"),
            "opsets": {opset: OPSET_TARGETS.get(opset, "unknown") for opset in opsets},
            "producer": {
                "coremltools_version": meta.get("com.github.apple.coremltools.version"),
                "source": meta.get("com.github.apple.coremltools.source"),
                "source_dialect": meta.get("com.github.apple.coremltools.source_dialect"),
            },
            "description": meta.get("shortDescription", ""),
            "metadata": dict(meta),
        },
        "inputs": [feature_record(f) for f in model.inputs],
        "outputs": [feature_record(f) for f in model.outputs],
        "states": [feature_record(f) for f in model.states],
        "functions": _functions(model, analysis),
        "ops": _op_counts(analysis),
        "weights": _weights(model, analysis),
        "quantization": quantization_coverage(analysis),
        "warnings": list(model.warnings),
    }
    if model.layers:
        summary["layers"] = dict(model.layers)
    if model.sub_models:
        summary["sub_models"] = [
            {"index": i, "type": sub.kind, "specification_version": sub.specification_version}
            for i, sub in enumerate(model.sub_models)
        ]
    return summary


def _functions(model: Model, analysis: ModelAnalysis) -> list[dict[str, Any]]:
    counts = Counter(a.op.function for a in analysis.ops)
    described = {f.name: f for f in model.functions}
    result = []
    for program_model in model.programs():
        for function in program_model.program.functions.values():
            description = described.get(function.name)
            result.append({
                "name": function.name,
                "default": function.is_default,
                "opset": function.opset,
                "specializations": list(function.specializations),
                "ops": counts[function.name],
                "inputs": [{"name": v.name, "type": v.type.describe()} for v in function.inputs],
                "outputs": [] if description is None else [feature_record(f) for f in description.outputs],
                "states": [] if description is None else [feature_record(f) for f in description.states],
            })
    return result


def _op_counts(analysis: ModelAnalysis) -> dict[str, Any]:
    by_type = Counter(a.op.type for a in analysis.ops)
    by_category = Counter(a.op.category for a in analysis.ops)
    return {
        "total": len(analysis.ops),
        "by_type": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        "by_category": {c: by_category[c] for c in cat.CATEGORIES if by_category[c]},
    }


def _weights(model: Model, analysis: ModelAnalysis) -> dict[str, Any]:
    physical = unique_blobs(model)
    by_dtype: Counter[str] = Counter()
    for blob in physical.values():
        by_dtype[blob.dtype] += blob.nbytes

    logical: Counter[str] = Counter()
    for op_analysis in analysis.ops:
        for blob, _scheme in op_analysis.claimed:
            logical[op_analysis.op.function] += blob.nbytes
    by_scheme: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for op_analysis, blob, scheme in physical_claims(analysis):
        by_scheme[scheme] += blob.nbytes
        by_category[op_analysis.op.category] += blob.nbytes

    total = sum(by_dtype.values())
    file_bytes = sum(f.size for f in model.weight_files.values() if f.size is not None)
    return {
        "total_bytes": total,
        "declared_only": any(blob.declared for blob in physical.values()),
        "blobs": len(physical),
        "files": [
            {"path": f.path, "size": f.size, "blobs": f.blob_count} for f in model.weight_files.values()
        ],
        "share_of_files": (total / file_bytes) if file_bytes else None,
        "by_dtype": dict(by_dtype.most_common()),
        "by_scheme": dict(by_scheme.most_common()),
        "by_category": {c: by_category[c] for c in cat.CATEGORIES if by_category[c]},
        "by_function": dict(logical),
    }


def quantization_coverage(analysis: ModelAnalysis) -> list[dict[str, Any]]:
    """Return, per compute op type, how many ops have quantized weights and quantized activations, by dtype."""
    groups: dict[str, dict[str, Any]] = {}
    weights: dict[str, Counter[str]] = defaultdict(Counter)
    activations: dict[str, Counter[str]] = defaultdict(Counter)
    for op_analysis in analysis.compute_ops():
        op_type = op_analysis.op.type
        group = groups.setdefault(op_type, {"op_type": op_type, "category": op_analysis.op.category, "total": 0})
        group["total"] += 1
        weight = op_analysis.weight
        weights[op_type][weight.dtype if weight else "none"] += 1
        if op_analysis.activations_quantized:
            dtypes = {a.dtype or "unknown" for a in op_analysis.activations}
            activations[op_type]["/".join(sorted(dtypes))] += 1
        else:
            activations[op_type]["none"] += 1
    for op_type, group in groups.items():
        group["weights_by_dtype"] = dict(weights[op_type].most_common())
        group["activations_by_dtype"] = dict(activations[op_type].most_common())
        group["quantized_weights"] = sum(
            n for dtype, n in weights[op_type].items() if dtype != "none" and dtype not in FLOAT_DTYPES
        )
        group["quantized_activations"] = group["total"] - activations[op_type]["none"]
    return list(groups.values())
