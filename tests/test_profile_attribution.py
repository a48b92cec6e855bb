"""Attribution: per-op latency from the median and the compute plan's cost weights, and its coverage."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from profile_fakes import VIT_FIXTURE, VIT_SAMPLE, fake_profile

from mlinspect.analysis.ops import analyze
from mlinspect.profile import RunNotFoundError, attribute, load_profile, select_run
from mlinspect.profile.record import OpPlacement, RunError
from mlinspect.profile.report import attribution_record, placements
from mlinspect.reader import load

needs_vit_sample = pytest.mark.skipif(
    not VIT_SAMPLE.exists(), reason="samples/vit_tiny_fp16_macos14.mlpackage is missing"
)


@pytest.fixture(scope="module")
def vit():
    model = load(VIT_SAMPLE)
    return load_profile(VIT_FIXTURE, model), analyze(model)


@needs_vit_sample
@pytest.mark.parametrize("compute_units", ["all", "cpu_and_ne", "cpu_only"])
def test_vit_op_latencies_sum_to_median(vit, compute_units: str) -> None:
    profile, analysis = vit

    attribution = attribute(profile, analysis, compute_units)

    estimated = [t.estimated_ms for t in attribution.ops.values() if t.estimated_ms is not None]
    assert math.fsum(estimated) == pytest.approx(attribution.median_ms, rel=1e-12)
    assert attribution.median_ms == profile.run(compute_units).predict_ms.median
    # The text views show three decimals: each shown value is off by at most 0.0005 ms.
    shown_total = math.fsum(round(ms, 3) for ms in estimated)
    assert abs(shown_total - attribution.median_ms) <= 0.0005 * len(estimated)


@needs_vit_sample
def test_vit_category_and_device_sums(vit) -> None:
    profile, analysis = vit

    attribution = attribute(profile, analysis)

    assert attribution.compute_units == "all"
    by_category = math.fsum(c.estimated_ms for c in attribution.categories.values())
    by_device = math.fsum(attribution.devices.values())
    assert by_category == pytest.approx(attribution.median_ms)
    assert by_device == pytest.approx(attribution.median_ms)
    matmul = [t for t in attribution.ops.values() if t.category == "matmul"]
    assert attribution.categories["matmul"].estimated_ms == pytest.approx(
        math.fsum(t.estimated_ms for t in matmul)
    )
    assert attribution.categories["matmul"].devices == {"neural_engine": len(matmul)}
    assert attribution.label == "estimated from the compute plan"


@needs_vit_sample
def test_vit_coverage_counts_runtime_ops(vit) -> None:
    profile, analysis = vit

    coverage = attribute(profile, analysis).coverage

    runtime = [a for a in analysis.ops if a.op.category not in ("const", "weight_decompression")]
    assert coverage.runtime_ops == len(runtime)
    assert coverage.runtime_ops_with_cost == len(runtime)
    assert coverage.share == 1.0
    assert coverage.weight_sum == pytest.approx(0.97)
    assert coverage.ops_without_cost == ()


def test_weights_normalized_when_sum_is_not_one(plain_package: Path) -> None:
    profile = fake_profile(plain_package)
    analysis = analyze(load(plain_package))
    run = profile.run("all")
    doubled = {
        op_id: replace(p, cost_weight=None if p.cost_weight is None else p.cost_weight * 2)
        for op_id, p in run.ops.items()
    }
    scaled = replace(profile, runs=(replace(run, ops=doubled),))

    original = attribute(profile, analysis)
    after = attribute(scaled, analysis)

    assert after.coverage.weight_sum == pytest.approx(2 * original.coverage.weight_sum)
    for op_id, timing in original.ops.items():
        if timing.estimated_ms is None:
            assert after.ops[op_id].estimated_ms is None
        else:
            assert after.ops[op_id].estimated_ms == pytest.approx(timing.estimated_ms)


def test_op_without_cost_listed_and_excluded(plain_package: Path) -> None:
    profile = fake_profile(plain_package)
    analysis = analyze(load(plain_package))
    run = profile.run("all")
    ops = dict(run.ops)
    ops["main/lin_relu_cast_fp16"] = replace(ops["main/lin_relu_cast_fp16"], cost_weight=None)
    del ops["main/lin_relu"]
    partial = replace(profile, runs=(replace(run, ops=ops),))

    attribution = attribute(partial, analysis)

    coverage = attribution.coverage
    assert coverage.ops_without_cost == ("main/lin_relu_cast_fp16", "main/lin_relu")
    assert coverage.ops_not_in_plan == ("main/lin_relu",)
    assert coverage.runtime_ops == 4
    assert coverage.runtime_ops_with_cost == 2
    assert coverage.share == 0.5
    assert attribution.ops["main/lin_relu_cast_fp16"].estimated_ms is None
    assert "main/lin_relu" not in attribution.ops
    total = math.fsum(
        t.estimated_ms for t in attribution.ops.values() if t.estimated_ms is not None
    )
    assert total == pytest.approx(attribution.median_ms)


def test_plan_op_missing_from_model_left_out(plain_package: Path) -> None:
    profile = fake_profile(plain_package)
    analysis = analyze(load(plain_package))
    run = profile.run("all")
    ops = dict(run.ops)
    ops["main/ghost"] = OpPlacement("main/ghost", "relu", "gpu", ("gpu",), 5.0)
    extra = replace(profile, runs=(replace(run, ops=ops),))

    attribution = attribute(extra, analysis)

    assert attribution.coverage.plan_ops_not_in_model == ("main/ghost",)
    assert "main/ghost" not in attribution.ops
    assert attribution.coverage.weight_sum == pytest.approx(0.97)
    assert any("not in the model" in warning for warning in attribution.warnings)


def test_run_without_plan_gives_devices_none(plain_package: Path) -> None:
    profile = fake_profile(plain_package)

    attribution = attribute(profile, analyze(load(plain_package)), "cpu_and_gpu")

    assert attribution.ops == {}
    assert attribution.median_ms == profile.run("cpu_and_gpu").predict_ms.median
    assert attribution.coverage.runtime_ops_with_cost == 0
    assert "Failed to build the model execution plan" in attribution.warnings[0]


def test_default_run_is_all(plain_package: Path) -> None:
    profile = fake_profile(plain_package)

    assert select_run(profile).compute_units == "all"


def test_default_run_falls_back_to_first_usable(plain_package: Path) -> None:
    profile = fake_profile(plain_package)
    failed_all = replace(profile.runs[0], predict_ms=None)
    profile = replace(profile, runs=(failed_all, *profile.runs[1:]))

    assert select_run(profile).compute_units == "cpu_and_ne"


def test_missing_run_names_recorded_runs(plain_package: Path) -> None:
    profile = replace(fake_profile(plain_package), source="p.json")
    profile = replace(profile, runs=profile.runs[:2])

    with pytest.raises(RunNotFoundError) as caught:
        select_run(profile, "cpu_only")

    assert (
        str(caught.value)
        == "p.json: no run for compute units 'cpu_only'; the profile has: all, cpu_and_ne"
    )


def test_failed_run_rejected_with_error(plain_package: Path) -> None:
    profile = replace(fake_profile(plain_package), source="p.json")
    run = profile.run("cpu_only")
    failed = replace(run, predict_ms=None, errors=(RunError("predict", "boom"),))
    profile = replace(profile, runs=(*profile.runs[:3], failed))

    with pytest.raises(
        RunNotFoundError,
        match=r"'cpu_only' failed \(predict: boom\); runs with latency: all, cpu_and_ne, cpu_and_gpu",
    ):
        attribute(profile, analyze(load(plain_package)), "cpu_only")


def test_no_usable_run_rejected(plain_package: Path) -> None:
    profile = fake_profile(plain_package)
    profile = replace(profile, runs=tuple(replace(run, predict_ms=None) for run in profile.runs))

    with pytest.raises(RunNotFoundError, match="no run measured prediction latency"):
        select_run(profile)


def test_pipeline_profile_covers_both_sub_models(pipeline_package: Path) -> None:
    model = load(pipeline_package)
    profile = fake_profile(pipeline_package, model, function=None)

    attribution = attribute(profile, analyze(model))

    functions = {op_id.split("/")[0] for op_id in attribution.ops}
    assert functions == {"0:main", "1:main"}
    assert math.fsum(
        t.estimated_ms for t in attribution.ops.values() if t.estimated_ms
    ) == pytest.approx(0.412)


def test_multifunction_profile_covers_one_function(multifunction_package: Path) -> None:
    model = load(multifunction_package)
    profile = fake_profile(multifunction_package, model, function="encode")

    attribution = attribute(profile, analyze(model))

    assert {t.op_id.split("/")[0] for t in attribution.ops.values()} == {"encode"}
    assert attribution.coverage.runtime_ops == sum(
        1
        for op in model.walk()
        if op.function == "encode" and op.category not in ("const", "weight_decompression")
    )


def test_records_for_views(plain_package: Path) -> None:
    attribution = attribute(fake_profile(plain_package), analyze(load(plain_package)))

    record = attribution_record(attribution)
    overlay = placements(attribution)

    assert record["estimate"].startswith("estimated from the compute plan")
    assert math.fsum(row["estimated_ms"] for row in record["by_category"]) == pytest.approx(
        record["predict_ms"]["median"]
    )
    assert overlay["main/lin_cast_fp16"]["device"] == "neural_engine"
    assert (
        overlay["main/lin_cast_fp16"]["estimated_ms"]
        == attribution.ops["main/lin_cast_fp16"].estimated_ms
    )
