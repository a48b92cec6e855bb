"""Profile records: statistics, JSON form and schema, loading, and the model identity check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from profile_fakes import FIXTURES, MADE_UP, VIT_FIXTURE, VIT_SAMPLE, fake_profile

from mlinspect.profile import (
    InvalidProfileError,
    ProfileMismatchError,
    load_profile,
    read_profile,
    save_profile,
)
from mlinspect.profile.identity import model_identity
from mlinspect.profile.loading import profile_schema
from mlinspect.profile.record import Stats, profile_from_record, profile_record

needs_vit_sample = pytest.mark.skipif(
    not VIT_SAMPLE.exists(), reason="samples/vit_tiny_fp16_macos14.mlpackage is missing"
)


@pytest.mark.parametrize(
    "samples", [[3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.0, 3.0], list(np.linspace(0.1, 9.7, 37))]
)
def test_stats_match_numpy_percentiles(samples: list[float]) -> None:
    stats = Stats.from_samples(samples)

    assert stats.median == pytest.approx(float(np.median(samples)))
    assert stats.p10 == pytest.approx(float(np.percentile(samples, 10)))
    assert stats.p90 == pytest.approx(float(np.percentile(samples, 90)))
    assert stats.min == min(samples)
    assert stats.max == max(samples)
    assert stats.mean == pytest.approx(float(np.mean(samples)))
    assert stats.samples == tuple(samples)


def test_stats_reject_no_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        Stats.from_samples([])


def test_record_round_trip(plain_package: Path) -> None:
    profile = fake_profile(plain_package)

    record = profile_record(profile)
    again = profile_from_record(json.loads(json.dumps(record)))

    assert again == profile
    jsonschema.validate(record, profile_schema())


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(profile_schema())


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.name)
def test_fixture_matches_schema_and_says_made_up(fixture: Path) -> None:
    record = json.loads(fixture.read_text())

    jsonschema.validate(record, profile_schema())
    assert "made-up" in record["note"].lower()


@needs_vit_sample
def test_vit_fixture_loads_for_vit_sample() -> None:
    profile = load_profile(VIT_FIXTURE, VIT_SAMPLE)

    assert profile.note == MADE_UP
    assert [run.compute_units for run in profile.runs] == [
        "all",
        "cpu_and_ne",
        "cpu_and_gpu",
        "cpu_only",
    ]
    assert profile.source == str(VIT_FIXTURE)


@needs_vit_sample
def test_profile_of_other_model_rejected(plain_package: Path) -> None:
    with pytest.raises(ProfileMismatchError) as caught:
        load_profile(VIT_FIXTURE, plain_package)

    message = str(caught.value)
    assert message.startswith(f"{VIT_FIXTURE}: recorded for a different model")
    assert str(plain_package) in message
    assert "mlinspect profile" in message
    assert "\n" not in message


def test_identity_survives_copy_without_weights(plain_package: Path, tmp_path: Path) -> None:
    profile_path = tmp_path / "plain.json"
    save_profile(fake_profile(plain_package), profile_path)
    copy = tmp_path / "elsewhere" / "copy.mlpackage"
    shutil.copytree(plain_package, copy)
    for weight_file in copy.rglob("weight.bin"):
        weight_file.unlink()

    profile = load_profile(profile_path, copy)

    assert profile.model.path == str(plain_package)
    assert profile.model.sha256 == model_identity(copy, "main").sha256


def test_identity_hashes_model_file_only(plain_package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.mlpackage"
    shutil.copytree(plain_package, copy)
    model_file = next(copy.rglob("model.mlmodel"))
    model_file.write_bytes(model_file.read_bytes() + b"\x00")

    original = model_identity(plain_package, "main")
    changed = model_identity(copy, "main")

    assert original.model_file == "Data/com.apple.CoreML/model.mlmodel"
    assert changed.sha256 != original.sha256


def test_single_file_identity(single_file_model: Path) -> None:
    identity = model_identity(single_file_model, "main")

    assert identity.model_file == single_file_model.name
    assert len(identity.sha256) == 64


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(text)
    return path


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidProfileError, match="profile file not found"):
        read_profile(tmp_path / "absent.json")


def test_invalid_json_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "{not json")

    with pytest.raises(InvalidProfileError) as caught:
        read_profile(path)

    assert str(caught.value).startswith(f"{path}: invalid JSON")


def test_unknown_schema_version_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({"schema": "mlinspect.profile/99"}))

    with pytest.raises(
        InvalidProfileError, match="unsupported profile schema 'mlinspect.profile/99'"
    ):
        read_profile(path)


def test_other_json_document_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({"schema": "mlinspect.summary/1"}))

    with pytest.raises(InvalidProfileError, match="reads 'mlinspect.profile/1'"):
        read_profile(path)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda r: r["runs"][0]["ops"]["main/lin_cast_fp16"].update(preferred_device="tpu"),
            "runs/0/ops/main/lin_cast_fp16/preferred_device",
        ),
        (
            lambda r: r["runs"][0]["ops"]["main/lin_cast_fp16"].update(cost_weight=-0.5),
            "runs/0/ops/main/lin_cast_fp16/cost_weight",
        ),
        (lambda r: r["runs"][0].update(compute_units="everything"), "runs/0/compute_units"),
        (lambda r: r["model"].pop("sha256"), "model"),
        (lambda r: r["runs"][0]["predict_ms"].update(samples=[]), "runs/0/predict_ms"),
        (lambda r: r.update(runs=[]), "runs"),
    ],
    ids=["device", "negative-weight", "compute-units", "no-hash", "no-samples", "no-runs"],
)
def test_schema_violation_names_key(
    plain_package: Path, tmp_path: Path, change, where: str
) -> None:
    record = profile_record(fake_profile(plain_package))
    change(record)
    path = _write(tmp_path, json.dumps(record))

    with pytest.raises(InvalidProfileError) as caught:
        read_profile(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: invalid profile at {where}")
    assert "\n" not in message


def test_save_rejects_invalid_profile(plain_package: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    profile = fake_profile(plain_package)
    broken = replace(profile, runs=(replace(profile.runs[0], compute_units="gpu_only"),))

    with pytest.raises(InvalidProfileError, match="runs/0/compute_units"):
        save_profile(broken, tmp_path / "broken.json")

    assert not (tmp_path / "broken.json").exists()
