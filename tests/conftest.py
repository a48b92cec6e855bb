"""Session-scoped fixtures that build each tiny model form once into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import builders
import pytest


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def plain_package(models_dir: Path) -> Path:
    return builders.build_plain(models_dir)


@pytest.fixture(scope="session")
def single_file_model(models_dir: Path) -> Path:
    return builders.build_single_file(models_dir)


@pytest.fixture(scope="session")
def single_file_with_blobs(models_dir: Path) -> Path:
    return builders.build_single_file_with_blobs(models_dir)


@pytest.fixture(scope="session")
def pipeline_package(models_dir: Path) -> Path:
    return builders.build_pipeline(models_dir)


@pytest.fixture(scope="session")
def multifunction_package(models_dir: Path) -> Path:
    return builders.build_multifunction(models_dir)


@pytest.fixture(scope="session")
def stateful_package(models_dir: Path) -> Path:
    return builders.build_stateful(models_dir)


@pytest.fixture(scope="session")
def range_shape_package(models_dir: Path) -> Path:
    return builders.build_flexible(models_dir, "range")


@pytest.fixture(scope="session")
def enumerated_shape_package(models_dir: Path) -> Path:
    return builders.build_flexible(models_dir, "enumerated")


@pytest.fixture(scope="session")
def control_flow_package(models_dir: Path) -> Path:
    return builders.build_control_flow(models_dir)


@pytest.fixture(scope="session")
def specializations_package(models_dir: Path) -> Path:
    return builders.build_specializations(models_dir)


@pytest.fixture(scope="session")
def compressed_packages(models_dir: Path) -> dict[tuple[str, str], Path]:
    """Map (scheme, target) to a built package for every entry of builders.COMPRESSED_FORMS."""
    return {
        (scheme, target): builders.build_compressed(models_dir, scheme, target)
        for scheme, target in builders.COMPRESSED_FORMS
    }


@pytest.fixture(scope="session")
def neural_network_model(models_dir: Path) -> Path:
    return builders.build_neural_network(models_dir)


@pytest.fixture(scope="session")
def all_forms(
    plain_package: Path,
    single_file_model: Path,
    single_file_with_blobs: Path,
    pipeline_package: Path,
    multifunction_package: Path,
    stateful_package: Path,
    range_shape_package: Path,
    enumerated_shape_package: Path,
    control_flow_package: Path,
    specializations_package: Path,
    compressed_packages: dict[tuple[str, str], Path],
    neural_network_model: Path,
) -> dict[str, Path]:
    """Map a short form name to the path of every model built for this session."""
    forms = {
        "plain": plain_package,
        "single_file": single_file_model,
        "single_file_with_blobs": single_file_with_blobs,
        "pipeline": pipeline_package,
        "multifunction": multifunction_package,
        "stateful": stateful_package,
        "range_shape": range_shape_package,
        "enumerated_shape": enumerated_shape_package,
        "control_flow": control_flow_package,
        "specializations": specializations_package,
        "neural_network": neural_network_model,
    }
    for (scheme, target), path in compressed_packages.items():
        forms[f"{scheme}_{target}"] = path
    return forms


@pytest.fixture(scope="session")
def shared_weight_packages(models_dir: Path) -> tuple[Path, Path]:
    """Two-function packages whose functions share every blob: fp16 weights, then int8 weights."""
    return builders.build_shared_weights(models_dir, quantized=False), builders.build_shared_weights(models_dir, quantized=True)
