"""The `profile` command and `--profile` on `summary` and `ops`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from profile_fakes import VIT_FIXTURE, VIT_SAMPLE, StandInRuntime, fake_profile
from typer.testing import CliRunner

from mlinspect.cli import profile_commands
from mlinspect.cli.main import app
from mlinspect.profile import save_profile
from mlinspect.profile.loading import profile_schema

needs_vit_sample = pytest.mark.skipif(
    not VIT_SAMPLE.exists(), reason="samples/vit_tiny_fp16_macos14.mlpackage is missing"
)
runner = CliRunner()


@pytest.fixture(scope="module")
def plain_profile(plain_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profiles") / "plain.json"
    save_profile(fake_profile(plain_package), path)
    return path


@pytest.mark.skipif(
    sys.platform == "darwin", reason="checks the message shown where Core ML is missing"
)
def test_profile_off_macos_exits_2(plain_package: Path, tmp_path: Path) -> None:
    output = tmp_path / "profile.json"

    result = subprocess.run(
        [sys.executable, "-m", "mlinspect", "profile", str(plain_package), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "mlinspect: error: recording a profile needs macOS with Core ML; "
        "a profile recorded on a Mac can be used here with --profile\n"
    )
    assert not output.exists()


def test_profile_command_with_stand_in_runtime(
    plain_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        profile_commands,
        "make_runtime",
        lambda: StandInRuntime(plain_package, {"cpu_and_gpu": "compute_plan"}),
    )
    output = tmp_path / "profile.json"

    result = runner.invoke(
        app,
        [
            "profile",
            str(plain_package),
            "-o",
            str(output),
            "--compute-units",
            "all",
            "--compute-units",
            "cpu_and_gpu",
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--loads",
            "2",
        ],
    )

    assert result.exit_code == 0, result.stderr
    record = json.loads(output.read_text())
    jsonschema.validate(record, profile_schema())
    assert [run["compute_units"] for run in record["runs"]] == ["all", "cpu_and_gpu"]
    assert len(record["runs"][0]["predict_ms"]["samples"]) == 3
    assert f"wrote {output}" in result.stdout
    assert (
        "cpu_and_gpu: compute_plan failed: Failed to build the model execution plan"
        in result.stdout
    )


def test_profile_command_all_failed_exits_1(
    plain_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        profile_commands, "make_runtime", lambda: StandInRuntime(plain_package, {"all": "predict"})
    )
    output = tmp_path / "profile.json"

    result = runner.invoke(
        app,
        [
            "profile",
            str(plain_package),
            "-o",
            str(output),
            "--compute-units",
            "all",
            "--iterations",
            "1",
        ],
    )

    assert result.exit_code == 1
    assert output.exists()
    assert "all: predict failed: Error computing NN outputs (made up)" in result.stdout


def test_summary_text_shows_estimate(plain_package: Path, plain_profile: Path) -> None:
    result = runner.invoke(app, ["summary", str(plain_package), "--profile", str(plain_profile)])

    assert result.exit_code == 0, result.stderr
    assert f"profile: {plain_profile}" in result.stdout
    assert "latency by category, all, estimated from the compute plan" in result.stdout
    assert "cpu_and_gpu: compute_plan failed" in result.stdout
    assert "coverage: 4 of 4 runtime ops have a cost weight" in result.stdout
    assert "Made-up numbers" in result.stdout


def test_summary_json_has_profile_section(plain_package: Path, plain_profile: Path) -> None:
    result = runner.invoke(
        app,
        [
            "summary",
            str(plain_package),
            "--profile",
            str(plain_profile),
            "--json",
            "--compute-units",
            "cpu_only",
        ],
    )

    assert result.exit_code == 0, result.stderr
    section = json.loads(result.stdout)["profile"]
    attribution = section["attribution"]
    assert attribution["compute_units"] == "cpu_only"
    assert attribution["estimate"].startswith("estimated from the compute plan")
    total = math.fsum(row["estimated_ms"] for row in attribution["by_category"])
    assert total == pytest.approx(attribution["predict_ms"]["median"])
    assert [run["compute_units"] for run in section["runs"]] == [
        "all",
        "cpu_and_ne",
        "cpu_and_gpu",
        "cpu_only",
    ]
    assert section["runs"][2]["errors"][0]["stage"] == "compute_plan"


def test_summary_without_profile_unchanged(plain_package: Path) -> None:
    result = runner.invoke(app, ["summary", str(plain_package), "--json"])

    assert result.exit_code == 0
    assert "profile" not in json.loads(result.stdout)


def test_ops_json_rows_carry_profile(plain_package: Path, plain_profile: Path) -> None:
    result = runner.invoke(
        app, ["ops", str(plain_package), "--profile", str(plain_profile), "--json", "--constants"]
    )

    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["ops"]
    linear = next(row for row in rows if row["id"] == "main/lin_cast_fp16")
    assert linear["profile"]["preferred_device"] == "neural_engine"
    assert linear["profile"]["estimated_ms"] > 0
    const = next(row for row in rows if row["type"] == "const")
    assert const["profile"]["estimated_ms"] is None
    total = math.fsum(row["profile"]["estimated_ms"] or 0.0 for row in rows)
    assert total == pytest.approx(0.412)


def test_ops_sort_by_latency(plain_package: Path, plain_profile: Path) -> None:
    result = runner.invoke(
        app,
        ["ops", str(plain_package), "--profile", str(plain_profile), "--json", "--sort", "latency"],
    )

    rows = json.loads(result.stdout)["ops"]
    latencies = [row["profile"]["estimated_ms"] for row in rows]
    assert latencies == sorted(latencies, reverse=True)
    assert rows[0]["id"] == "main/lin_cast_fp16"


def test_ops_text_shows_devices(plain_package: Path, plain_profile: Path) -> None:
    result = runner.invoke(app, ["ops", str(plain_package), "--profile", str(plain_profile)])

    assert result.exit_code == 0, result.stderr
    assert "est. ms: latency estimated from the compute plan" in result.stdout
    assert "neural_engine" in result.stdout


def test_sort_latency_needs_profile(plain_package: Path) -> None:
    result = runner.invoke(app, ["ops", str(plain_package), "--sort", "latency"])

    assert result.exit_code == 2
    assert (
        result.stderr
        == "mlinspect: error: --sort latency needs --profile FILE, a profile recorded for this model\n"
    )


def test_missing_run_exits_2(plain_package: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    profile = fake_profile(plain_package)
    path = tmp_path / "two_runs.json"
    save_profile(replace(profile, runs=profile.runs[:2]), path)

    result = runner.invoke(
        app, ["ops", str(plain_package), "--profile", str(path), "--compute-units", "cpu_only"]
    )

    assert result.exit_code == 2
    assert (
        result.stderr
        == f"mlinspect: error: {path}: no run for compute units 'cpu_only'; the profile has: all, cpu_and_ne\n"
    )


@needs_vit_sample
def test_profile_of_other_model_exits_2(plain_package: Path) -> None:
    result = runner.invoke(app, ["summary", str(plain_package), "--profile", str(VIT_FIXTURE)])

    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"mlinspect: error: {VIT_FIXTURE}: recorded for a different model"
    )
    assert result.stderr.count("\n") == 1


@needs_vit_sample
def test_vit_fixture_through_summary_and_ops() -> None:
    summary = runner.invoke(
        app, ["summary", str(VIT_SAMPLE), "--profile", str(VIT_FIXTURE), "--json"]
    )
    ops = runner.invoke(
        app, ["ops", str(VIT_SAMPLE), "--profile", str(VIT_FIXTURE), "--json", "--constants"]
    )

    assert summary.exit_code == 0, summary.stderr
    assert ops.exit_code == 0, ops.stderr
    median = json.loads(summary.stdout)["profile"]["attribution"]["predict_ms"]["median"]
    rows = json.loads(ops.stdout)["ops"]
    assert median == 0.412
    assert math.fsum(row["profile"]["estimated_ms"] or 0.0 for row in rows) == pytest.approx(median)
    matmuls = [row for row in rows if row["category"] == "matmul"]
    assert {row["profile"]["preferred_device"] for row in matmuls} == {"neural_engine"}
