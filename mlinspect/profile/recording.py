"""Record a profile: compile once, then per compute-unit setting load, predict and read the compute plan.

Every Core ML call goes through a `Runtime` (the macOS one is
`mlinspect.profile.coreml_adapter.CoreMLRuntime`), so the sequence here runs
anywhere against a stand-in runtime. A setting whose load, predictions or
compute plan fails is recorded with the error, and the other settings go on.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from mlinspect.mil.records import Model
from mlinspect.profile.compute_plan import PlanReading
from mlinspect.profile.errors import RecordingError
from mlinspect.profile.host import host_info
from mlinspect.profile.identity import model_identity
from mlinspect.profile.inputs import InputSet, generate_inputs, read_inputs
from mlinspect.profile.record import (
    COMPUTE_UNITS,
    OpPlacement,
    Profile,
    RecordingSettings,
    Run,
    RunError,
    Stats,
)
from mlinspect.reader import load

logger = logging.getLogger(__name__)


class RuntimeSession(Protocol):
    """One model loaded for one compute-unit setting; the first load is the one that predicts."""

    def load(self) -> float:
        """Load the compiled model once more and return the load latency in milliseconds."""

    def predict(self, inputs: InputSet) -> float:
        """Run one prediction and return its latency in milliseconds."""

    def close(self) -> None: ...


class Runtime(Protocol):
    """The Core ML calls that recording needs."""

    clock: str
    """"coreml" when latencies are the durations Core ML reports, "wall" for the host clock."""

    def compute_devices(self) -> tuple[str, ...]: ...

    def compile(self, model_path: Path, destination: Path) -> float:
        """Compile the model to `destination` (.mlmodelc) and return the compile latency in milliseconds."""

    def session(
        self, compiled: Path, compute_units: str, function: str | None, stateful: bool
    ) -> RuntimeSession: ...

    def compute_plan(
        self, compiled: Path, compute_units: str, function: str | None
    ) -> PlanReading: ...


class RecordingProgress(Protocol):
    """Receives one step per load, prediction and compute plan, so a view can draw a progress bar."""

    def start(self, compute_units: str, steps: int) -> None: ...

    def step(self, compute_units: str, stage: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    compute_units: tuple[str, ...] = COMPUTE_UNITS
    iterations: int = 50
    """Timed predictions per compute-unit setting."""
    warmup: int = 5
    """Untimed predictions before the timed ones."""
    loads: int = 3
    """Loads per compute-unit setting; the first one includes any device-specific compilation."""
    inputs: Path | None = None
    """An .npz file with one array per input; None generates inputs from the model description."""
    function: str | None = None


def record_profile(
    model_path: str | os.PathLike[str],
    runtime: Runtime,
    options: RecordingOptions,
    progress: RecordingProgress | None = None,
) -> Profile:
    """Record a profile of the model at `model_path` with `runtime`; see the module docstring.

    Raises RecordingError when nothing can be recorded: an unknown function,
    unusable inputs or a failed compile.
    """
    _check_options(options)
    model_path = Path(model_path)
    model = load(model_path)
    function = resolve_function(model, options.function)
    identity = model_identity(model_path, function)
    if options.inputs is not None:
        inputs = read_inputs(options.inputs, model_path, function)
    else:
        inputs = generate_inputs(model_path, function)
    stateful = bool(_states(model, function))
    session_function = function if len(model.function_names()) > 1 else None

    with tempfile.TemporaryDirectory(prefix="mlinspect-") as folder:
        compiled = Path(folder) / f"{model_path.stem}.mlmodelc"
        try:
            compile_ms = runtime.compile(model_path, compiled)
        except Exception as error:  # Core ML raises plain Exception and RuntimeError alike
            raise RecordingError(f"{model_path}: compiling the model failed ({error})") from error

        runs = tuple(
            _record_run(
                runtime,
                compiled,
                units,
                session_function,
                function,
                stateful,
                inputs,
                options,
                progress,
            )
            for units in options.compute_units
        )

    return Profile(
        host=host_info(runtime.compute_devices()),
        model=identity,
        recording=RecordingSettings(
            iterations=options.iterations,
            warmup=options.warmup,
            loads=options.loads,
            inputs=inputs.source,
            clock=runtime.clock,
        ),
        runs=runs,
        compile_ms=compile_ms,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def resolve_function(model: Model, requested: str | None) -> str | None:
    """Return the function the predictions run: `requested`, else the default; None for a pipeline."""
    if model.sub_models:
        if requested is not None:
            raise RecordingError(
                f"{model.path}: --function applies to multifunction programs, not to a pipeline"
            )
        return None
    names = model.function_names()
    if not names:
        raise RecordingError(
            f"{model.path}: not an ML program ({model.kind}); mlinspect profiles ML programs"
        )
    if requested is not None:
        if requested not in names:
            raise RecordingError(
                f"{model.path}: function {requested!r} not found; the model has: {', '.join(names)}"
            )
        return requested
    default = model.default_function or "main"
    return default if default in names else names[0]


def _check_options(options: RecordingOptions) -> None:
    unknown = [units for units in options.compute_units if units not in COMPUTE_UNITS]
    if unknown:
        raise RecordingError(
            f"unknown compute units {unknown[0]!r}; try one of: {', '.join(COMPUTE_UNITS)}"
        )
    if not options.compute_units:
        raise RecordingError("no compute units to record; give at least one --compute-units")
    if options.iterations < 1 or options.loads < 1 or options.warmup < 0:
        raise RecordingError("--iterations and --loads must be at least 1, --warmup at least 0")


def _states(model: Model, function: str | None) -> Sequence[object]:
    for described in model.functions:
        if described.name == function:
            return described.states
    return model.states


def _record_run(
    runtime: Runtime,
    compiled: Path,
    compute_units: str,
    session_function: str | None,
    function: str | None,
    stateful: bool,
    inputs: InputSet,
    options: RecordingOptions,
    progress: RecordingProgress | None,
) -> Run:
    if progress is not None:
        progress.start(compute_units, options.loads + options.warmup + options.iterations + 1)

    def step(stage: str) -> None:
        if progress is not None:
            progress.step(compute_units, stage)

    errors: list[RunError] = []
    load_ms = predict_ms = None
    session = None
    stage = "load"
    try:
        session = runtime.session(compiled, compute_units, session_function, stateful)
        load_samples = []
        for _ in range(options.loads):
            load_samples.append(session.load())
            step("load")
        load_ms = Stats.from_samples(load_samples)

        stage = "predict"
        for _ in range(options.warmup):
            session.predict(inputs)
            step("warmup")
        predict_samples = []
        for _ in range(options.iterations):
            predict_samples.append(session.predict(inputs))
            step("predict")
        predict_ms = Stats.from_samples(predict_samples)
    except Exception as error:  # noqa: BLE001 - a failed setting is data: record it, go on with the next
        logger.warning("compute units %s: %s failed: %s", compute_units, stage, error)
        errors.append(RunError(stage=stage, message=_describe(error)))
    finally:
        if session is not None:
            session.close()

    ops: dict[str, OpPlacement] = {}
    warnings: list[str] = []
    try:
        reading = runtime.compute_plan(compiled, compute_units, function)
        ops = reading.ops
        if reading.unkeyed:
            warnings.append(
                f"{len(reading.unkeyed)} ops of the compute plan have no outputs, so no op id "
                f"({', '.join(sorted(set(reading.unkeyed)))})"
            )
    except Exception as error:  # noqa: BLE001 - recorded like a failed prediction
        logger.warning("compute units %s: compute plan failed: %s", compute_units, error)
        errors.append(RunError(stage="compute_plan", message=_describe(error)))
    step("compute_plan")

    return Run(
        compute_units=compute_units,
        load_ms=load_ms,
        predict_ms=predict_ms,
        ops=ops,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
