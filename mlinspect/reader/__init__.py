"""Read Core ML model files into records, without writing anything and without reading weight data."""

from __future__ import annotations

import gc
import os
from collections import Counter
from pathlib import Path
from typing import Any

from mlinspect.errors import InvalidModelError, UnsupportedModelError
from mlinspect.mil.records import Model
from mlinspect.reader import description as desc
from mlinspect.reader.files import read_regular
from mlinspect.reader.package import locate
from mlinspect.reader.program import ProgramReader, WeightFiles
from mlinspect.reader.proto import model_pb2

_PIPELINES = ("pipeline", "pipelineClassifier", "pipelineRegressor")
_NEURAL_NETWORKS = ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor")
# Protobuf cannot parse a message of 2 GiB or more, so a larger model file is
# rejected before it is read into memory.
MAX_MODEL_FILE_BYTES = 2**31 - 1


def load(path: str | os.PathLike[str]) -> Model:
    """Read the model at `path` (.mlpackage folder or .mlmodel file) into a Model record.

    Raises InvalidModelError naming the file when it cannot be read. A missing
    weight file (or a Git LFS pointer in its place) is not an error: the model
    is read, sizes come from the declared types, and `Model.warnings` records it.
    References to undefined values and impossible shapes are warnings too.
    """
    location = locate(path)
    shown_model_file = _shown(Path(path), location.model_file, location.root)
    data = read_regular(location.model_file, shown_model_file, MAX_MODEL_FILE_BYTES)

    spec = model_pb2().Model()
    try:
        spec.ParseFromString(data)
    except Exception as error:  # protobuf raises DecodeError, or RecursionError on deep nesting
        problem = f"protobuf parse failed: {error}"
        if "MaxDepth" in str(error):  # upb's message when nesting exceeds its limit of 100 messages
            problem = "messages (blocks or types) nested deeper than protobuf's decoder allows"
        raise InvalidModelError(shown_model_file, f"not a valid Core ML model file ({problem})") from error
    if spec.WhichOneof("Type") is None:
        raise InvalidModelError(shown_model_file, "not a valid Core ML model file: no model type in the specification")

    weights = WeightFiles(location.model_file.parent, location.root, shown_model_file.parent)
    program_warnings: list[str] = []
    # The records form no reference cycles, so the cyclic garbage collector
    # finds nothing to free while they are built. Its passes over the growing
    # heap took a third of the load time of a 50,000-op program
    # (bench/bench_load.py on a 2-core Linux machine).
    collecting = gc.isenabled()
    gc.disable()
    try:
        model = _model(spec, str(path), str(shown_model_file), weights, "", program_warnings)
    finally:
        weights.close()
        if collecting:
            gc.enable()
    warnings = tuple(weights.warnings + weights.mismatch_warnings() + program_warnings)
    return _with(model, weight_files=weights.summaries(), warnings=warnings)


def require_program(model: Model) -> Model:
    """Return `model` if it or a pipeline sub-model is an ML program; raise UnsupportedModelError otherwise."""
    if any(True for _ in model.programs()):
        return model
    detail = f"a {model.kind} model (specification version {model.specification_version}"
    if model.layers:
        layers = ", ".join(f"{count} {layer}" for layer, count in list(model.layers.items())[:5])
        detail += f"; layers: {layers}"
    detail += ")"
    raise UnsupportedModelError(
        model.path,
        f"{detail} is not an ML program, so it has no ops to list or compare; "
        "`mlinspect summary` describes it, and coremltools' convert_to=\"mlprogram\" makes an ML program",
    )


def _model(spec: Any, path: str, shown: str, weights: WeightFiles, prefix: str, warnings: list[str]) -> Model:
    kind = spec.WhichOneof("Type")
    description = spec.description
    default_function = description.defaultFunctionName or None
    common = {
        "path": path,
        "kind": kind,
        "specification_version": spec.specificationVersion,
        "inputs": desc.features(description.input),
        "outputs": desc.features(description.output),
        "states": desc.features(description.state),
        "metadata": desc.metadata(description),
        "functions": desc.functions(description),
        "default_function": default_function,
    }

    if kind == "mlProgram":
        reader = ProgramReader(shown, weights, prefix)
        program = reader.program(spec.mlProgram, default_function)
        warnings += reader.warnings
        return Model(program=program, **common)

    if kind in _PIPELINES:
        pipeline = getattr(spec, kind)
        pipeline = pipeline.pipeline if kind != "pipeline" else pipeline
        sub_models = tuple(
            _model(sub, f"{path}#{index}", shown, weights, f"{prefix}{index}:", warnings)
            for index, sub in enumerate(pipeline.models)
        )
        return Model(sub_models=sub_models, **common)

    if kind in _NEURAL_NETWORKS:
        network = getattr(spec, kind)
        layers = Counter(layer.WhichOneof("layer") or "unknown" for layer in network.layers)
        return Model(layers=dict(layers.most_common()), **common)

    return Model(**common)


def _with(model: Model, **changes: Any) -> Model:
    from dataclasses import replace

    return replace(model, **changes)


def _shown(given: Path, model_file: Path, root: Path) -> Path:
    """Return the model file's path as the user would write it: under the path they passed."""
    if model_file == root or given.is_file():
        return given
    return given / model_file.relative_to(root)
