"""Reading coremltools' MLComputePlan into op placements, with the real dataclasses and a stand-in native proxy."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_fakes import device, fake_placements, stand_in_plan

from mlinspect.analysis.ops import analyze
from mlinspect.profile.compute_plan import device_name, read_compute_plan
from mlinspect.profile.record import OpPlacement
from mlinspect.reader import load


def test_device_names() -> None:
    assert device_name(device("cpu")) == "cpu"
    assert device_name(device("gpu")) == "gpu"
    assert device_name(device("neural_engine")) == "neural_engine"


def test_unknown_device_rejected() -> None:
    with pytest.raises(ValueError, match="unknown compute device type object"):
        device_name(object())


def test_plan_read_back_by_op_id(plain_package: Path) -> None:
    model = load(plain_package)
    expected = fake_placements(analyze(model))
    plan = stand_in_plan(model, expected)

    reading = read_compute_plan(plan, "main")

    assert reading.ops == expected
    assert reading.unkeyed == ()
    assert list(reading.ops) == [op.id for op in model.walk()]


def test_nested_blocks_are_read(control_flow_package: Path) -> None:
    model = load(control_flow_package)
    expected = fake_placements(analyze(model))

    reading = read_compute_plan(stand_in_plan(model, expected), "main")

    assert "main/then_relu_cast_fp16" in reading.ops
    assert "main/loop_double_cast_fp16" in reading.ops
    assert reading.ops == expected


def test_missing_usage_and_cost_become_none(plain_package: Path) -> None:
    model = load(plain_package)
    placements = fake_placements(analyze(model))
    placements["main/lin_cast_fp16"] = OpPlacement("main/lin_cast_fp16", "linear", None, (), None)

    reading = read_compute_plan(stand_in_plan(model, placements), "main")

    assert reading.ops["main/lin_cast_fp16"] == OpPlacement(
        "main/lin_cast_fp16", "linear", None, (), None
    )


def test_supported_devices_sorted_and_unique(plain_package: Path) -> None:
    model = load(plain_package)
    placements = fake_placements(analyze(model))
    placements["main/lin_cast_fp16"] = OpPlacement(
        "main/lin_cast_fp16", "linear", "gpu", ("neural_engine", "gpu", "cpu", "gpu"), 0.5
    )

    reading = read_compute_plan(stand_in_plan(model, placements), "main")

    assert reading.ops["main/lin_cast_fp16"].supported_devices == ("cpu", "gpu", "neural_engine")


def test_ops_without_outputs_reported(plain_package: Path) -> None:
    model = load(plain_package)

    reading = read_compute_plan(
        stand_in_plan(model, fake_placements(analyze(model)), extra_unnamed=2), "main"
    )

    assert reading.unkeyed == ("coreml_update_state", "coreml_update_state")
    assert len(reading.ops) == len(list(model.walk()))


def test_function_filter(multifunction_package: Path) -> None:
    model = load(multifunction_package)
    plan = stand_in_plan(model, fake_placements(analyze(model)))

    encode = read_compute_plan(plan, "encode")
    both = read_compute_plan(plan, None)

    assert {op_id.split("/")[0] for op_id in encode.ops} == {"encode"}
    assert {op_id.split("/")[0] for op_id in both.ops} == {"encode", "decode"}


def test_unknown_function_rejected(plain_package: Path) -> None:
    model = load(plain_package)
    plan = stand_in_plan(model, fake_placements(analyze(model)))

    with pytest.raises(
        ValueError, match="function 'decode' not found in the compute plan; it has: main"
    ):
        read_compute_plan(plan, "decode")


def test_pipeline_ops_prefixed_by_index(pipeline_package: Path) -> None:
    model = load(pipeline_package)
    expected = fake_placements(analyze(model))

    reading = read_compute_plan(stand_in_plan(model, expected), None)

    assert reading.ops == expected
    assert "0:main/first_cast_fp16" in reading.ops
    assert "1:main/second_cast_fp16" in reading.ops


def test_neural_network_plan_rejected() -> None:
    from coremltools.models import compute_plan as cp
    from profile_fakes import StandInPlanProxy

    structure = cp.MLModelStructure(
        neuralnetwork=cp.MLModelStructureNeuralNetwork(layers=[]), program=None, pipeline=None
    )
    plan = object.__new__(cp.MLComputePlan)
    plan.__proxy__ = StandInPlanProxy(structure, {}, {})

    with pytest.raises(ValueError, match="neural network, not an ML program"):
        read_compute_plan(plan, None)
