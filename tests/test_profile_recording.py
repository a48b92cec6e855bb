"""Recording end to end against a stand-in runtime; inputs from the description; the child-process call."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from profile_fakes import PLAN_FAILURE, StandInRuntime, fake_placements, stand_in_plan

from mlinspect.analysis.ops import analyze
from mlinspect.profile import (
    RecordingError,
    RecordingUnavailableError,
    attribute,
    load_profile,
    save_profile,
)
from mlinspect.profile.compute_plan import PlanReading, read_compute_plan
from mlinspect.profile.inputs import generate_inputs, read_inputs
from mlinspect.profile.isolation import IsolatedCallError, run_isolated
from mlinspect.profile.loading import profile_schema
from mlinspect.profile.record import profile_record
from mlinspect.profile.recording import RecordingOptions, record_profile
from mlinspect.reader import load


class CountingProgress:
    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.steps: dict[str, list[str]] = {}

    def start(self, compute_units: str, steps: int) -> None:
        self.totals[compute_units] = steps
        self.steps[compute_units] = []

    def step(self, compute_units: str, stage: str) -> None:
        self.steps[compute_units].append(stage)


OPTIONS = RecordingOptions(iterations=4, warmup=2, loads=2)


def test_recording_end_to_end(plain_package: Path, tmp_path: Path) -> None:
    runtime = StandInRuntime(
        plain_package, failures={"cpu_and_gpu": "compute_plan", "cpu_and_ne": "predict"}
    )
    progress = CountingProgress()

    profile = record_profile(plain_package, runtime, OPTIONS, progress)
    path = tmp_path / "plain.json"
    save_profile(profile, path)
    loaded = load_profile(path, plain_package)

    assert [run.compute_units for run in profile.runs] == [
        "all",
        "cpu_and_ne",
        "cpu_and_gpu",
        "cpu_only",
    ]
    assert profile.compile_ms == 123.0
    assert profile.recording.clock == "wall"
    assert profile.model.function == "main"
    assert loaded == replace(profile, source=str(path))
    jsonschema.validate(profile_record(profile), profile_schema())

    all_run = profile.run("all")
    assert all_run.load_ms.samples == (10.0, 20.0)
    assert all_run.predict_ms.samples == pytest.approx((1.003, 1.004, 1.005, 1.006))
    assert all_run.errors == ()
    assert all_run.ops["main/lin_cast_fp16"].preferred_device == "neural_engine"
    assert runtime.closed == ["all", "cpu_and_ne", "cpu_and_gpu", "cpu_only"]


def test_failed_settings_recorded_and_others_continue(plain_package: Path) -> None:
    runtime = StandInRuntime(
        plain_package,
        failures={"cpu_and_gpu": "compute_plan", "cpu_and_ne": "predict", "all": "load"},
    )

    profile = record_profile(plain_package, runtime, OPTIONS)

    failed_load = profile.run("all")
    assert failed_load.load_ms is None
    assert failed_load.predict_ms is None
    assert [(e.stage, e.message) for e in failed_load.errors] == [
        ("load", "Error loading the model (made up)")
    ]
    assert failed_load.ops, "the compute plan runs even when loading failed"

    failed_predict = profile.run("cpu_and_ne")
    assert failed_predict.load_ms is not None
    assert failed_predict.predict_ms is None
    assert failed_predict.errors[0].stage == "predict"

    failed_plan = profile.run("cpu_and_gpu")
    assert failed_plan.predict_ms is not None
    assert failed_plan.ops == {}
    assert [(e.stage, e.message) for e in failed_plan.errors] == [("compute_plan", PLAN_FAILURE)]

    assert profile.run("cpu_only").errors == ()
    assert profile.run("cpu_only").ops["main/lin_cast_fp16"].preferred_device == "cpu"


def test_recorded_profile_attributes_to_median(plain_package: Path) -> None:
    profile = record_profile(plain_package, StandInRuntime(plain_package), OPTIONS)

    attribution = attribute(profile, analyze(load(plain_package)), "cpu_only")

    total = math.fsum(
        t.estimated_ms for t in attribution.ops.values() if t.estimated_ms is not None
    )
    assert total == pytest.approx(profile.run("cpu_only").predict_ms.median)
    assert set(attribution.devices) == {"cpu"}


def test_progress_steps_per_setting(plain_package: Path) -> None:
    progress = CountingProgress()

    record_profile(
        plain_package,
        StandInRuntime(plain_package),
        RecordingOptions(compute_units=("all", "cpu_only"), iterations=3, warmup=1, loads=2),
        progress,
    )

    assert progress.totals == {"all": 7, "cpu_only": 7}
    assert progress.steps["all"] == [
        "load",
        "load",
        "warmup",
        "predict",
        "predict",
        "predict",
        "compute_plan",
    ]


def test_compile_failure_stops_recording(plain_package: Path) -> None:
    runtime = StandInRuntime(plain_package, compile_error="coremlcompiler: error: made up")

    with pytest.raises(
        RecordingError, match="compiling the model failed \\(coremlcompiler: error: made up\\)"
    ):
        record_profile(plain_package, runtime, OPTIONS)


def test_compiled_model_removed_after_recording(plain_package: Path) -> None:
    runtime = StandInRuntime(plain_package)

    record_profile(
        plain_package,
        runtime,
        RecordingOptions(compute_units=("cpu_only",), iterations=1, warmup=0, loads=1),
    )

    assert len(runtime.compiled) == 1
    assert not runtime.compiled[0].exists()


def test_stateful_model_gets_state(stateful_package: Path) -> None:
    runtime = StandInRuntime(stateful_package)

    record_profile(
        stateful_package,
        runtime,
        RecordingOptions(compute_units=("all",), iterations=1, warmup=0, loads=1),
    )

    assert runtime.sessions == [("all", None, True)]
    values = runtime.inputs_seen[0].values
    assert list(values) == ["x"]
    assert values["x"].dtype == np.float16
    assert values["x"].shape == (1, 4)


def test_multifunction_runs_default_function(multifunction_package: Path) -> None:
    runtime = StandInRuntime(multifunction_package)

    profile = record_profile(
        multifunction_package,
        runtime,
        RecordingOptions(compute_units=("all",), iterations=1, warmup=0, loads=1),
    )

    assert runtime.sessions == [("all", "decode", False)]
    assert profile.model.function == "decode"
    assert {op_id.split("/")[0] for op_id in profile.run("all").ops} == {"decode"}


def test_multifunction_runs_requested_function(multifunction_package: Path) -> None:
    runtime = StandInRuntime(multifunction_package)
    options = RecordingOptions(
        compute_units=("all",), iterations=1, warmup=0, loads=1, function="encode"
    )

    profile = record_profile(multifunction_package, runtime, options)

    assert runtime.sessions == [("all", "encode", False)]
    assert {op_id.split("/")[0] for op_id in profile.run("all").ops} == {"encode"}


def test_unknown_function_rejected(multifunction_package: Path) -> None:
    options = RecordingOptions(function="classify")

    with pytest.raises(
        RecordingError, match="function 'classify' not found; the model has: decode, encode"
    ):
        record_profile(multifunction_package, StandInRuntime(multifunction_package), options)


def test_pipeline_records_all_sub_models(pipeline_package: Path) -> None:
    runtime = StandInRuntime(pipeline_package)

    profile = record_profile(
        pipeline_package,
        runtime,
        RecordingOptions(compute_units=("all",), iterations=1, warmup=0, loads=1),
    )

    assert profile.model.function is None
    assert runtime.sessions == [("all", None, False)]
    assert {op_id.split("/")[0] for op_id in profile.run("all").ops} == {"0:main", "1:main"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RecordingOptions(compute_units=("gpu_only",)), "unknown compute units 'gpu_only'"),
        (RecordingOptions(compute_units=()), "no compute units to record"),
        (RecordingOptions(iterations=0), "--iterations and --loads must be at least 1"),
    ],
)
def test_invalid_options_rejected(
    plain_package: Path, options: RecordingOptions, message: str
) -> None:
    with pytest.raises(RecordingError, match=message):
        record_profile(plain_package, StandInRuntime(plain_package), options)


def test_generated_inputs_follow_description(plain_package: Path) -> None:
    inputs = generate_inputs(plain_package, "main")

    assert list(inputs.values) == ["x"]
    assert inputs.values["x"].dtype == np.float32
    assert inputs.values["x"].shape == (1, 16)
    assert inputs.images == {}
    assert inputs.source == "generated"


@pytest.mark.parametrize("fixture", ["range_shape_package", "enumerated_shape_package"])
def test_flexible_inputs_take_default_shape(fixture: str, request: pytest.FixtureRequest) -> None:
    inputs = generate_inputs(request.getfixturevalue(fixture), "main")

    assert inputs.values["x"].shape == (1, 4)


def test_generated_inputs_are_reproducible(plain_package: Path) -> None:
    first = generate_inputs(plain_package, "main")
    second = generate_inputs(plain_package, "main")

    np.testing.assert_array_equal(first.values["x"], second.values["x"])


def test_image_input_generated(tmp_path: Path) -> None:
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 8, 6))], opset_version=ct.target.iOS16)
    def program(image):
        return mb.relu(x=image, name="out")

    path = tmp_path / "image.mlpackage"
    ct.convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        inputs=[ct.ImageType(name="image", shape=(1, 3, 8, 6), color_layout=ct.colorlayout.BGR)],
    ).save(str(path))

    inputs = generate_inputs(path, "main")

    assert inputs.images == {"image": "RGB"}
    assert inputs.values["image"].shape == (8, 6, 3)
    assert inputs.values["image"].dtype == np.uint8


def test_inputs_read_from_npz(plain_package: Path, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, x=np.ones((1, 16), dtype=np.float32))

    inputs = read_inputs(path, plain_package, "main")

    np.testing.assert_array_equal(inputs.values["x"], np.ones((1, 16), dtype=np.float32))
    assert inputs.source == "inputs.npz"


def test_npz_missing_input_rejected(plain_package: Path, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, y=np.ones(3))

    with pytest.raises(RecordingError, match="input 'x' missing; the model takes: x"):
        read_inputs(path, plain_package, "main")


def test_npz_not_an_archive_rejected(plain_package: Path, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    path.write_text("not an archive")

    with pytest.raises(RecordingError, match="not a readable .npz file"):
        read_inputs(path, plain_package, "main")


def test_recording_uses_npz_inputs(plain_package: Path, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, x=np.full((1, 16), 2.0, dtype=np.float32))
    runtime = StandInRuntime(plain_package)

    profile = record_profile(
        plain_package,
        runtime,
        RecordingOptions(compute_units=("all",), iterations=1, warmup=0, loads=1, inputs=path),
    )

    assert profile.recording.inputs == "inputs.npz"
    assert float(runtime.inputs_seen[0].values["x"][0, 0]) == 2.0


# The child-process isolation that the macOS runtime loads compute plans with.


def read_stand_in_plan(model_path: str) -> PlanReading:
    """Build and read a stand-in compute plan; runs in the spawned child."""
    model = load(model_path)
    return read_compute_plan(stand_in_plan(model, fake_placements(analyze(model))), "main")


def test_isolated_call_returns_plan_reading(plain_package: Path) -> None:
    reading = run_isolated(read_stand_in_plan, str(plain_package), timeout=120)

    assert reading.ops["main/lin_cast_fp16"].preferred_device == "neural_engine"


def test_isolated_abort_reported() -> None:
    with pytest.raises(IsolatedCallError, match="killed by SIGABRT"):
        run_isolated(os.abort, timeout=60)


def test_isolated_exit_reported() -> None:
    with pytest.raises(IsolatedCallError, match="exited with status 3 without a result"):
        run_isolated(os._exit, 3, timeout=60)


def test_isolated_exception_reported() -> None:
    with pytest.raises(IsolatedCallError, match="ValueError: math domain error"):
        run_isolated(math.sqrt, -1.0, timeout=60)


def test_isolated_timeout_kills_child() -> None:
    started = time.monotonic()

    with pytest.raises(IsolatedCallError, match="timed out after 0.5 s"):
        run_isolated(time.sleep, 30, timeout=0.5)

    assert time.monotonic() - started < 10


@pytest.mark.skipif(
    sys.platform == "darwin", reason="checks the error raised where Core ML is missing"
)
def test_runtime_unavailable_off_macos() -> None:
    from mlinspect.profile.coreml_adapter import UNAVAILABLE, CoreMLRuntime

    with pytest.raises(RecordingUnavailableError) as caught:
        CoreMLRuntime()

    assert str(caught.value) == UNAVAILABLE
