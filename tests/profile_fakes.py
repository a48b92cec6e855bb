"""Made-up profiles and a stand-in Core ML compute plan, for tests that cannot run Core ML.

Every number here is invented: device placements follow the op category,
cost weights follow the static FLOP count, and latencies are fixed values.
`python tests/profile_fakes.py` rewrites the committed fixture of the ViT sample.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlinspect.analysis import categories as cat
from mlinspect.analysis.ops import ModelAnalysis, analyze
from mlinspect.mil.records import Block, Model
from mlinspect.profile.compute_plan import PlanReading, read_compute_plan
from mlinspect.profile.identity import model_identity
from mlinspect.profile.inputs import InputSet
from mlinspect.profile.record import (
    Host,
    OpPlacement,
    Profile,
    RecordingSettings,
    Run,
    RunError,
    Stats,
    profile_record,
)
from mlinspect.reader import load

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "profiles"
VIT_SAMPLE = REPO / "samples" / "vit_tiny_fp16_macos14.mlpackage"
VIT_FIXTURE = FIXTURES / "vit_tiny_fp16_macos14.json"

MADE_UP = "Made-up numbers for mlinspect's tests: nothing here was measured on any device."
HOST = Host(
    os="macOS",
    os_version="15.1",
    chip="Apple M4 (made up)",
    machine="arm64",
    coremltools_version="9.0",
    python_version="3.11.9",
    compute_devices=("cpu", "gpu", "neural_engine"),
)
PLAN_FAILURE = (
    "Failed to build the model execution plan using a model architecture file (made-up message)"
)

# Preferred device per category in the made-up "all" run; other categories go to the CPU.
_ALL_DEVICES = {
    cat.MATMUL: "neural_engine",
    cat.ATTENTION: "neural_engine",
    cat.CONV: "neural_engine",
    cat.NORMALIZATION: "neural_engine",
    cat.ACTIVATION: "neural_engine",
    cat.ELEMENTWISE: "gpu",
    cat.ACTIVATION_QUANT: "neural_engine",
}
_LOAD_TIME = (cat.CONST, cat.WEIGHT_DECOMPRESSION)


def samples_around(median: float, count: int = 11) -> list[float]:
    """Return `count` made-up latencies whose median is `median` (spread ±5 %)."""
    half = count // 2
    return [round(median * (1 + 0.01 * (k - half)), 6) for k in range(count)]


def fake_placements(
    analysis: ModelAnalysis,
    functions: Iterable[str] | None = None,
    all_cpu: bool = False,
    weight_total: float = 0.97,
) -> dict[str, OpPlacement]:
    """Return a made-up compute plan: const ops without a cost, the rest weighted by their static FLOPs.

    The weights add up to `weight_total`, not 1, because Core ML does not promise
    that they do and attribution must normalize.
    """
    chosen = set(functions) if functions is not None else None
    ops = [a for a in analysis.ops if chosen is None or a.op.function in chosen]
    raw = {a.op.id: float(a.flops or 0) + 1000.0 for a in ops if a.op.category not in _LOAD_TIME}
    scale = weight_total / sum(raw.values()) if raw else 0.0
    placements = {}
    for op_analysis in ops:
        op = op_analysis.op
        if op.category in _LOAD_TIME:
            placements[op.id] = OpPlacement(op.id, op.type, "cpu", ("cpu",), None)
            continue
        device = "cpu" if all_cpu else _ALL_DEVICES.get(op.category, "cpu")
        supported = ("cpu",) if all_cpu else tuple(sorted({"cpu", "gpu", device}))
        placements[op.id] = OpPlacement(op.id, op.type, device, supported, raw[op.id] * scale)
    return placements


def fake_profile(
    model_path: str | Path, model: Model | None = None, function: str | None = "main"
) -> Profile:
    """Return a made-up profile of the model at `model_path` with four runs; cpu_and_gpu has no compute plan."""
    model = model or load(model_path)
    analysis = analyze(model)
    functions = None if function is None else [function]
    ne_plan = fake_placements(analysis, functions)
    cpu_plan = fake_placements(analysis, functions, all_cpu=True, weight_total=1.02)
    runs = (
        Run(
            "all",
            Stats.from_samples(samples_around(35.0, 3)),
            Stats.from_samples(samples_around(0.412)),
            ne_plan,
        ),
        Run(
            "cpu_and_ne",
            Stats.from_samples(samples_around(33.0, 3)),
            Stats.from_samples(samples_around(0.455)),
            ne_plan,
        ),
        Run(
            "cpu_and_gpu",
            Stats.from_samples(samples_around(21.0, 3)),
            Stats.from_samples(samples_around(0.731)),
            {},
            errors=(RunError("compute_plan", PLAN_FAILURE),),
        ),
        Run(
            "cpu_only",
            Stats.from_samples(samples_around(12.0, 3)),
            Stats.from_samples(samples_around(0.98)),
            cpu_plan,
        ),
    )
    return Profile(
        host=HOST,
        model=model_identity(model_path, function),
        recording=RecordingSettings(
            iterations=11, warmup=2, loads=3, inputs="generated", clock="coreml"
        ),
        runs=runs,
        compile_ms=180.5,
        created="2026-01-01T00:00:00+00:00",
        note=MADE_UP,
    )


# A stand-in for coremltools' compute plan: the real dataclasses of
# coremltools.models.compute_plan, with stand-in native proxies.


class StandInDeviceProxy:
    """Stands in for the native proxy of an MLComputeDevice."""


class StandInPlanProxy:
    """Stands in for coremltools' native _MLComputePlanProxy, returning values from dicts keyed by first output name."""

    def __init__(self, structure: Any, usages: dict[str, Any], costs: dict[str, Any]) -> None:
        self.model_structure = structure
        self.usages = usages
        self.costs = costs

    def get_compute_device_usage_for_mlprogram_operation(self, operation: Any) -> Any:
        return self.usages.get(operation.outputs[0].name) if operation.outputs else None

    def get_estimated_cost_for_mlprogram_operation(self, operation: Any) -> Any:
        return self.costs.get(operation.outputs[0].name) if operation.outputs else None


def device(name: str) -> Any:
    """Return coremltools' MLComputeDevice subclass for `name`, made without the native runtime."""
    from coremltools.models import compute_device as cd

    cls = {
        "cpu": cd.MLCPUComputeDevice,
        "gpu": cd.MLGPUComputeDevice,
        "neural_engine": cd.MLNeuralEngineComputeDevice,
    }[name]
    instance = object.__new__(cls)
    instance.__proxy__ = StandInDeviceProxy()
    return instance


def structure_block(block: Block, extra_unnamed: int = 0) -> Any:
    """Return an MLModelStructureProgramBlock with the ops of a mlinspect Block, nested blocks included."""
    from coremltools.models import compute_plan as cp

    operations = []
    for op in block.operations:
        outputs = [
            cp.MLModelStructureProgramNamedValueType(
                name=o.name, type=cp.MLModelStructureProgramValueType()
            )
            for o in op.outputs
        ]
        operations.append(
            cp.MLModelStructureProgramOperation(
                inputs={},
                operator_name=op.type,
                outputs=outputs,
                blocks=[structure_block(nested) for nested in op.blocks],
                __proxy__=None,
            )
        )
    for _ in range(extra_unnamed):
        operations.append(
            cp.MLModelStructureProgramOperation(
                inputs={},
                operator_name="coreml_update_state",
                outputs=[],
                blocks=[],
                __proxy__=None,
            )
        )
    return cp.MLModelStructureProgramBlock(
        inputs=[], operations=operations, output_names=list(block.outputs)
    )


def program_structure(model: Model, extra_unnamed: int = 0) -> Any:
    """Return coremltools' MLModelStructure of a mlinspect Model (a program or a pipeline of programs)."""
    from coremltools.models import compute_plan as cp

    if model.sub_models:
        subs = [
            (f"model{index}", program_structure(sub)) for index, sub in enumerate(model.sub_models)
        ]
        return cp.MLModelStructure(
            neuralnetwork=None, program=None, pipeline=cp.MLModelStructurePipeline(sub_models=subs)
        )
    functions = {}
    for name, function in model.program.functions.items():
        local_name = name.rsplit(":", 1)[-1]
        functions[local_name] = cp.MLModelStructureProgramFunction(
            inputs=[], block=structure_block(function.block, extra_unnamed)
        )
    return cp.MLModelStructure(
        neuralnetwork=None, program=cp.MLModelStructureProgram(functions=functions), pipeline=None
    )


def stand_in_plan(model: Model, placements: dict[str, OpPlacement], extra_unnamed: int = 0) -> Any:
    """Return a real MLComputePlan object whose native proxy returns `placements`."""
    from coremltools.models import compute_plan as cp

    usages = {}
    costs = {}
    for op_id, placement in placements.items():
        name = op_id.rsplit("/", 1)[-1]
        if placement.preferred_device is not None:
            usages[name] = cp.MLComputePlanDeviceUsage(
                preferred_compute_device=device(placement.preferred_device),
                supported_compute_devices=[device(d) for d in placement.supported_devices],
            )
        if placement.cost_weight is not None:
            costs[name] = cp.MLComputePlanCost(weight=placement.cost_weight)
    plan = object.__new__(cp.MLComputePlan)
    plan.__proxy__ = StandInPlanProxy(program_structure(model, extra_unnamed), usages, costs)
    return plan


# A stand-in for mlinspect.profile.coreml_adapter.CoreMLRuntime.


class StandInSession:
    def __init__(self, runtime: StandInRuntime, compute_units: str) -> None:
        self.runtime = runtime
        self.compute_units = compute_units
        self.loads = 0
        self.predictions = 0

    def load(self) -> float:
        if self.runtime.failures.get(self.compute_units) == "load":
            raise RuntimeError("Error loading the model (made up)")
        self.loads += 1
        return 10.0 * self.loads

    def predict(self, inputs: InputSet) -> float:
        if self.runtime.failures.get(self.compute_units) == "predict":
            raise RuntimeError("Error computing NN outputs (made up)")
        self.runtime.inputs_seen.append(inputs)
        self.predictions += 1
        return self.runtime.latency[self.compute_units] + 0.001 * self.predictions

    def close(self) -> None:
        self.runtime.closed.append(self.compute_units)


class StandInRuntime:
    """Implements CoreMLRuntime's methods with made-up latencies and plans built from coremltools' dataclasses."""

    clock = "wall"

    def __init__(
        self,
        model_path: Path,
        failures: dict[str, str] | None = None,
        compile_error: str | None = None,
    ) -> None:
        self.model = load(model_path)
        self.failures = failures or {}
        self.compile_error = compile_error
        self.latency = {"all": 1.0, "cpu_and_ne": 1.5, "cpu_and_gpu": 2.0, "cpu_only": 4.0}
        self.sessions: list[tuple[str, str | None, bool]] = []
        self.inputs_seen: list[InputSet] = []
        self.closed: list[str] = []
        self.compiled: list[Path] = []

    def compute_devices(self) -> tuple[str, ...]:
        return ("cpu", "gpu", "neural_engine")

    def compile(self, model_path: Path, destination: Path) -> float:
        if self.compile_error:
            raise RuntimeError(self.compile_error)
        destination.mkdir()
        self.compiled.append(destination)
        return 123.0

    def session(
        self, compiled: Path, compute_units: str, function: str | None, stateful: bool
    ) -> StandInSession:
        assert compiled.exists()
        self.sessions.append((compute_units, function, stateful))
        return StandInSession(self, compute_units)

    def compute_plan(self, compiled: Path, compute_units: str, function: str | None) -> PlanReading:
        if self.failures.get(compute_units) == "compute_plan":
            raise RuntimeError(PLAN_FAILURE)
        placements = fake_placements(analyze(self.model), all_cpu=compute_units == "cpu_only")
        return read_compute_plan(stand_in_plan(self.model, placements), function)


def write_vit_fixture() -> Path:
    """Write the made-up profile of samples/vit_tiny_fp16_macos14.mlpackage to tests/data/profiles."""
    relative = VIT_SAMPLE.relative_to(REPO)
    profile = fake_profile(relative if Path.cwd() == REPO else VIT_SAMPLE)
    record = profile_record(profile)
    record["model"]["path"] = str(relative)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    VIT_FIXTURE.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return VIT_FIXTURE


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write_vit_fixture()}\n")
