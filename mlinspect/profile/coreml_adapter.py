"""The macOS runtime for recording: the only module that calls Core ML through coremltools' native library.

Written against coremltools 9.0: `utils.compile_model`, `CompiledMLModel`,
`compute_plan.MLComputePlan` and `compute_device.MLComputeDevice`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from mlinspect.profile.compute_plan import PlanReading, device_name, read_compute_plan
from mlinspect.profile.errors import RecordingUnavailableError
from mlinspect.profile.inputs import InputSet
from mlinspect.profile.isolation import run_isolated

UNAVAILABLE = (
    "recording a profile needs macOS with Core ML; "
    "a profile recorded on a Mac can be used here with --profile"
)
# A guessed limit, never measured: loading a compute plan compiles the model
# for the setting's devices, which is slow for large models.
PLAN_TIMEOUT_S = 900.0


def check_available() -> None:
    """Raise RecordingUnavailableError unless this is macOS and coremltools' native library loads."""
    if sys.platform != "darwin":
        raise RecordingUnavailableError(UNAVAILABLE)
    try:
        from coremltools import libcoremlpython  # noqa: F401
    except ImportError as error:
        raise RecordingUnavailableError(
            f"coremltools' native Core ML library failed to load ({error}); "
            "install a coremltools wheel built for this macOS and Python"
        ) from error


def _compute_unit(name: str) -> Any:
    import coremltools as ct

    return ct.ComputeUnit[name.upper()]


def load_compute_plan(compiled: str, compute_units: str, function: str | None) -> PlanReading:
    """Load the compute plan of a compiled model and read it; runs in a child process."""
    from coremltools.models.compute_plan import MLComputePlan

    plan = MLComputePlan.load_from_path(path=compiled, compute_units=_compute_unit(compute_units))
    return read_compute_plan(plan, function)


class CoreMLSession:
    """A compiled model loaded with `CompiledMLModel` for one compute-unit setting.

    coremltools' MLModelBenchmarker reads the same Core ML durations, but it
    loads from the spec, so it writes and compiles a temporary package for
    every load. Loading the one compiled .mlmodelc compiles only once.
    """

    def __init__(
        self, compiled: Path, compute_units: str, function: str | None, stateful: bool, clock: str
    ) -> None:
        self._compiled = str(compiled)
        self._compute_units = compute_units
        self._function = function
        self._stateful = stateful
        self._clock = clock
        self._model: Any = None

    def load(self) -> float:
        from coremltools.models import CompiledMLModel

        started = time.perf_counter()
        model = CompiledMLModel(
            self._compiled,
            compute_units=_compute_unit(self._compute_units),
            function_name=self._function,
        )
        elapsed = _milliseconds(time.perf_counter() - started)
        if self._model is None:
            self._model = model
        if self._clock == "coreml":
            return _reported_or(model._proxy.get_load_duration_in_nano_seconds(), elapsed)
        return elapsed

    def predict(self, inputs: InputSet) -> float:
        values = _with_images(inputs)
        state = self._model.make_state() if self._stateful else None
        started = time.perf_counter()
        self._model.predict(values, state=state)
        elapsed = _milliseconds(time.perf_counter() - started)
        if self._clock == "coreml":
            return _reported_or(
                self._model._proxy.get_last_predict_duration_in_nano_seconds(), elapsed
            )
        return elapsed

    def close(self) -> None:
        self._model = None


class CoreMLRuntime:
    """The Runtime of `mlinspect.profile.recording` on macOS.

    NOTE: the calls in this class and in load_compute_plan never run in the
    tests, because no test machine has Core ML. The tests run everything
    around them against a stand-in runtime and coremltools' plan dataclasses.
    """

    def __init__(self) -> None:
        check_available()
        from coremltools.libcoremlpython import _MLModelProxy

        # CompiledMLModel keeps the native proxy as `_proxy`; MLModel's
        # load_duration_in_nano_seconds reads the same getters in coremltools
        # 9.0. A build without them is timed on the host clock instead.
        has_durations = hasattr(_MLModelProxy, "get_last_predict_duration_in_nano_seconds")
        self.clock = "coreml" if has_durations else "wall"

    def compute_devices(self) -> tuple[str, ...]:
        from coremltools.models.compute_device import MLComputeDevice

        return tuple(
            sorted({device_name(device) for device in MLComputeDevice.get_all_compute_devices()})
        )

    def compile(self, model_path: Path, destination: Path) -> float:
        from coremltools.models.utils import compile_model

        started = time.perf_counter()
        compile_model(str(model_path), str(destination))
        return _milliseconds(time.perf_counter() - started)

    def session(
        self, compiled: Path, compute_units: str, function: str | None, stateful: bool
    ) -> CoreMLSession:
        return CoreMLSession(compiled, compute_units, function, stateful, self.clock)

    def compute_plan(self, compiled: Path, compute_units: str, function: str | None) -> PlanReading:
        # MLComputePlan.load_from_path aborts the process (SIGABRT, not an
        # exception) when the path is not a compiled model (apple/coremltools#2757),
        # so the plan is loaded from the compiled model and in a child process.
        return run_isolated(
            load_compute_plan, str(compiled), compute_units, function, timeout=PLAN_TIMEOUT_S
        )


def _with_images(inputs: InputSet) -> dict[str, Any]:
    if not inputs.images:
        return inputs.values
    try:
        from PIL import Image
    except ImportError as error:
        raise RuntimeError("image inputs need Pillow: pip install pillow") from error
    values = dict(inputs.values)
    for name in inputs.images:
        values[name] = Image.fromarray(values[name])
    return values


def _milliseconds(seconds: float) -> float:
    return seconds * 1000.0


def _reported_or(nanoseconds: int | None, elapsed_ms: float) -> float:
    """Return Core ML's reported duration in milliseconds, or the host-clock time when it reports none."""
    return elapsed_ms if nanoseconds is None else nanoseconds / 1e6
