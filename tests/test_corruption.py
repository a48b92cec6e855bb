"""Corruption suite: broken variants of real packages, each rejected in one line or read with a warning.

For every variant the real CLI runs `summary` and `ops --json`, and
`mlinspect.load` runs in process. Each must exit 2 with exactly one
`mlinspect: error: PATH: problem` line on stderr naming the damaged file, or
exit 0 with a result and, where the variant is partial data, a warning. No
run may print a traceback, take over 2 s, change any file or open a file
outside the package. Opened files are recorded
by an audit hook on "open" events for in-process runs, and by
`strace -f -y -e trace=open,openat` (which reports each opened file's
resolved path) for the runs in a new process.

The default run is bounded: hypothesis runs `MLINSPECT_CORRUPTION_EXAMPLES`
examples per generated test (default 40) with fixed seeds, and a
representative subset of the named variants also runs in a new process.
A larger sweep, run by hand:

    MLINSPECT_CORRUPTION_EXAMPLES=5000 MLINSPECT_CORRUPTION_CLI=all \\
        python -m pytest tests/test_corruption.py
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import corruption
from corruption import CASES, Case, Expect, Outcome
from mlinspect.errors import InvalidModelError
from mlinspect.reader import load

EXAMPLES = int(os.environ.get("MLINSPECT_CORRUPTION_EXAMPLES", "40"))
ALL_IN_SUBPROCESS = os.environ.get("MLINSPECT_CORRUPTION_CLI") == "all"
VIT_SAMPLE = corruption.REPO / "samples" / "vit_tiny_w8a8_torch_macos14.mlpackage"

# Named variants that also run through `python -m mlinspect` under strace:
# one or two of each kind, and every kind that involves a symlink or a FIFO.
SUBPROCESS_CASES = (
    "manifest_deep_json",
    "manifest_fifo",
    "manifest_symlink_outside",
    "root_path_escaping",
    "root_path_newline",
    "model_truncated_50pct",
    "model_too_large",
    "model_fifo",
    "model_symlink_outside",
    "data_folder_symlink_outside",
    "package_symlink_to_package",
    "weight_missing",
    "weight_git_lfs_pointer",
    "weight_truncated_half",
    "weight_symlink_outside",
    "weight_symlink_device",
    "weights_folder_symlink_outside",
    "weight_sparse_tail",
    "metadata_bad_sentinel",
    "reference_file_escaping",
    "shape_absurd_rank",
    "op_inputs_cycle",
    "op_ids_duplicate",
    "blocks_nested_5000",
)

# Faults outside the reader that a named variant still hits become strict
# xfails, which fail once the fault is fixed. Generated damage that hits one is
# excused when the exception has the listed type and comes from the listed
# file. None is known at present.
KNOWN_FAULTS: dict[str, str] = {}
EXCUSED_EXCEPTIONS: set[tuple[str, type[BaseException]]] = set()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corruption.build_source(tmp_path_factory.mktemp("corruption_source"))


@pytest.fixture(scope="session")
def sources(source: Path) -> list[Path]:
    """The built package, and a committed ViT sample when one exists."""
    return [source, VIT_SAMPLE] if VIT_SAMPLE.exists() else [source]


@pytest.fixture(autouse=True)
def remove_sparse_files(tmp_path: Path) -> Iterator[None]:
    """Delete the multi-GB sparse files some variants make, so that no later tool reads them in full."""
    yield
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size > corruption.FULL_HASH_LIMIT:
            path.unlink()


@contextmanager
def work_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mlinspect-corruption-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def answer_problems(outcome: Outcome, case: Case, work: Path, json_output: bool) -> list[str]:
    """Return every way `outcome` breaks the rules for `case`, as readable lines (empty when it passes)."""
    problems = []
    if outcome.exception is not None:
        trace = "".join(traceback.format_exception(outcome.exception))
        problems.append(f"uncaught exception:\n{trace}")
    if "Traceback" in outcome.stderr + outcome.stdout:
        problems.append(f"traceback printed:\n{outcome.stderr}")
    if outcome.seconds > corruption.TIME_LIMIT_SECONDS:
        problems.append(f"took {outcome.seconds:.2f} s")
    outside = corruption.outside_opens(outcome, case.path, work)
    if outside:
        problems.append(f"opened files outside the package: {outside}")

    allowed = {Expect.ERROR: {2}, Expect.WARNING: {0}, Expect.OK: {0}, Expect.ANY: {0, 2}}[case.expect]
    if outcome.exit_code not in allowed:
        problems.append(f"exit status {outcome.exit_code}, expected {sorted(allowed)}; stderr: {outcome.stderr!r}")
    elif outcome.exit_code == 2:
        problems += _error_problems(outcome, case)
    else:
        problems += _result_problems(outcome, case, json_output)
    return problems


def _error_problems(outcome: Outcome, case: Case) -> list[str]:
    problems = []
    lines = outcome.stderr.splitlines()
    named = case.names if case.names is not None else case.path
    prefix = f"mlinspect: error: {named}: " if case.names is not None else f"mlinspect: error: {named}"
    if outcome.stdout:
        problems.append(f"stdout not empty on error: {outcome.stdout[:200]!r}")
    if len(lines) != 1:
        problems.append(f"stderr has {len(lines)} lines, expected 1: {outcome.stderr[:500]!r}")
    if not outcome.stderr.startswith(prefix):
        problems.append(f"stderr does not start with {prefix[:300]!r}: {outcome.stderr[:300]!r}")
    return problems


def _result_problems(outcome: Outcome, case: Case, json_output: bool) -> list[str]:
    """Check a successful run: output on stdout, and warnings (if any) as `mlinspect: warning:` lines on stderr."""
    if not outcome.stdout:
        return ["exit status 0 without output"]
    problems = []
    stderr_lines = outcome.stderr.splitlines()
    warnings = [line for line in stderr_lines if line.startswith("mlinspect: warning: ")]
    if len(warnings) != len(stderr_lines):
        problems.append(f"stderr has lines other than warnings: {outcome.stderr[:500]!r}")
    if json_output:
        json_warnings = json.loads(outcome.stdout)["warnings"]
        if len(json_warnings) != len(warnings):
            problems.append(f"JSON lists {len(json_warnings)} warnings, stderr {len(warnings)}")
    unnamed = [line for line in warnings if not line.startswith(f"mlinspect: warning: {case.path}")]
    if unnamed:
        problems.append(f"warnings that do not name a file under {case.path}: {unnamed}")
    if case.expect is Expect.WARNING and not warnings:
        problems.append("no warning for partial data")
    if case.expect is Expect.OK and warnings:
        problems.append(f"unexpected warnings: {warnings}")
    return problems


def load_problems(case: Case) -> list[str]:
    """Return the rule violations of `mlinspect.load` (and the graphs built from its records) in this process."""
    try:
        with corruption.hang_guard():
            model = load(case.path)
            for graph in model.graphs.values():
                graph.number_of_edges()
    except InvalidModelError as error:
        named = str(case.names if case.names is not None else case.path)
        if case.expect in (Expect.WARNING, Expect.OK):
            return [f"load raised {error}"]
        if not error.path.startswith(named):
            return [f"load error names {error.path!r}, expected {named!r}"]
        if "\n" in str(error):
            return [f"load error message spans lines: {str(error)!r}"]
        return []
    except Exception:
        return [f"load raised an unexpected exception:\n{traceback.format_exc()}"]
    if case.expect is Expect.ERROR:
        return ["load returned a model, expected InvalidModelError"]
    if case.expect is Expect.WARNING and not model.warnings:
        return ["load returned no warning for partial data"]
    return []


def excused(outcome: Outcome) -> bool:
    """Return True when the CLI raised one of EXCUSED_EXCEPTIONS, a fault already reported outside the reader."""
    if outcome.exception is None:
        return False
    last_file = traceback.extract_tb(outcome.exception.__traceback__)[-1].filename
    return any(
        last_file.endswith(file) and isinstance(outcome.exception, kind) for file, kind in EXCUSED_EXCEPTIONS
    )


def check_in_process(case: Case, work: Path, excuse_known_faults: bool = False) -> None:
    """Run summary, ops --json and load on `case` in this process and assert every rule."""
    before = corruption.tree_state(work)

    summary = corruption.run_in_process(["summary", str(case.path)])
    ops = corruption.run_in_process(["ops", str(case.path), "--json"])
    loaded = load_problems(case)

    summary_problems = answer_problems(summary, case, work, json_output=False)
    ops_problems = answer_problems(ops, case, work, json_output=True)
    if excuse_known_faults and excused(summary):
        summary_problems = corruption.outside_opens(summary, case.path, work)
    if excuse_known_faults and excused(ops):
        ops_problems = corruption.outside_opens(ops, case.path, work)
    assert not summary_problems, "\n".join(["summary:", *summary_problems])
    assert not ops_problems, "\n".join(["ops --json:", *ops_problems])
    assert not loaded, "\n".join(["load:", *loaded])
    assert corruption.tree_state(work) == before


def known_fault(name: str) -> list[pytest.MarkDecorator]:
    if name in KNOWN_FAULTS:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_FAULTS[name])]
    return []


@pytest.mark.parametrize("name", [pytest.param(name, marks=known_fault(name)) for name in CASES])
def test_variant_in_process(source: Path, tmp_path: Path, name: str) -> None:
    case = CASES[name](source, tmp_path)

    check_in_process(case, tmp_path)


VIT_CASES = [name for name in CASES if name.startswith(("model_truncated", "weight_", "metadata_", "reference_offset"))]


@pytest.mark.skipif(not VIT_SAMPLE.exists(), reason=f"{VIT_SAMPLE.name} not generated yet")
@pytest.mark.parametrize("name", VIT_CASES)
def test_vit_variant_in_process(tmp_path: Path, name: str) -> None:
    case = CASES[name](VIT_SAMPLE, tmp_path)

    check_in_process(case, tmp_path)


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=known_fault(name)) for name in (CASES if ALL_IN_SUBPROCESS else SUBPROCESS_CASES)]
)
def test_variant_in_subprocess(source: Path, tmp_path: Path, name: str) -> None:
    if not corruption.STRACE:
        pytest.skip("strace not installed: files opened by a new process cannot be listed")
    case = CASES[name](source, tmp_path)
    before = corruption.tree_state(tmp_path)

    summary = corruption.run_subprocess(["summary", str(case.path)])
    ops = corruption.run_subprocess(["ops", str(case.path), "--json"])

    summary_problems = answer_problems(summary, case, tmp_path, json_output=False)
    ops_problems = answer_problems(ops, case, tmp_path, json_output=True)
    assert not summary_problems, "\n".join(["summary:", *summary_problems])
    assert not ops_problems, "\n".join(["ops --json:", *ops_problems])
    assert corruption.tree_state(tmp_path) == before


def test_strace_sees_outside_open(source: Path, tmp_path: Path) -> None:
    """The strace check can fail: a file outside the package that the process opens is reported."""
    if not corruption.STRACE:
        pytest.skip("strace not installed")
    package = corruption.copy_package(source, tmp_path)
    outside = tmp_path / "outside" / "read_me.mlmodel"
    shutil.copyfile(package / corruption.MODEL_FILE, outside)

    outcome = corruption.run_subprocess(["summary", str(outside)])

    assert str(outside) in corruption.outside_opens(outcome, package, tmp_path)


def test_audit_hook_sees_outside_open(source: Path, tmp_path: Path) -> None:
    """The audit-hook check can fail: a file outside the package that the CLI opens is reported."""
    package = corruption.copy_package(source, tmp_path)
    outside = tmp_path / "outside" / "read_me.mlmodel"
    shutil.copyfile(package / corruption.MODEL_FILE, outside)

    outcome = corruption.run_in_process(["summary", str(outside)])

    assert str(outside) in corruption.outside_opens(outcome, package, tmp_path)


# ---------------------------------------------------------------- generated damage


def hypothesis_settings(seed_value: int):
    def decorate(test):
        test = settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )(test)
        return seed(seed_value)(test)

    return decorate


def check_generated(source: Path, damage) -> None:
    """Copy `source`, apply damage(package) and check the outcome, which may be a valid model."""
    with work_folder() as work:
        package = corruption.copy_package(source, work)
        damage(package)

        check_in_process(Case(package, Expect.ANY), work, excuse_known_faults=True)


@hypothesis_settings(61)
@given(data=st.data())
def test_model_bytes_flipped(sources: list[Path], data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(sources))
    changes = data.draw(st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=8))

    check_generated(source, lambda package: corruption.flip_bytes(package / corruption.MODEL_FILE, changes))


@hypothesis_settings(62)
@given(data=st.data())
def test_weight_metadata_flipped(sources: list[Path], data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(sources))
    positions = corruption.metadata_regions(source)
    changes = data.draw(st.lists(st.tuples(st.sampled_from(positions), st.integers(0, 255)), min_size=1, max_size=4))

    check_generated(source, lambda package: corruption.flip_bytes(package / corruption.WEIGHT_FILE, changes))


@hypothesis_settings(63)
@given(data=st.data())
def test_truncated_anywhere(sources: list[Path], data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(sources))
    relative = data.draw(st.sampled_from([corruption.MODEL_FILE, corruption.WEIGHT_FILE, Path("Manifest.json")]))
    fraction = data.draw(st.floats(0.0, 1.0))

    def truncate(package: Path) -> None:
        path = package / relative
        data_bytes = path.read_bytes()
        path.write_bytes(data_bytes[: int(len(data_bytes) * fraction)])

    check_generated(source, truncate)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@hypothesis_settings(64)
@given(data=st.data())
def test_manifest_values_random(source: Path, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(["rootModelIdentifier", "itemInfoEntries", "path"]))
    special = ["../x", "/", "..", "com.apple.CoreML/", "\u202e", "\x85", "\u2028", "\ud800", "a/" * 300]
    value = data.draw(JSON_VALUES | st.sampled_from(special))

    def edit(manifest: dict) -> None:
        if key == "path":
            manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"] = value
        else:
            manifest[key] = value

    check_generated(source, lambda package: corruption.edit_manifest(package, edit))


SIZES = st.sampled_from([0, 1, 7, 2**31, 2**32 + 1, 2**63, 2**64 - 1])


@hypothesis_settings(65)
@given(data=st.data())
def test_program_fields_mutated(sources: list[Path], data: st.DataObject) -> None:
    """Structure-aware damage: one field of one op set to a hostile value through the protobuf."""
    source = data.draw(st.sampled_from(sources))
    spec = corruption.read_spec(source)
    operations = list(corruption.walk_ops(corruption.main_block(spec)))
    position = data.draw(st.integers(0, len(operations) - 1))
    field = data.draw(st.sampled_from(["dims", "rank", "input", "type", "offset", "file", "dtype"]))
    dims = data.draw(st.lists(SIZES, max_size=8))
    rank = data.draw(st.integers(-(2**63), 2**63 - 1))
    text = data.draw(st.text(max_size=30))
    offset = data.draw(SIZES | st.integers(0, 4096))
    dtype = data.draw(st.integers(0, 2**31 - 1))

    def mutate(package: Path) -> None:
        def edit(spec: object) -> None:
            operation = list(corruption.walk_ops(corruption.main_block(spec)))[position]
            tensors = [o.type.tensorType for o in operation.outputs if o.type.HasField("tensorType")]
            references = corruption.blob_references(spec)
            if field == "dims" and tensors:
                corruption.set_dims(tensors[0], dims)
            elif field == "rank" and tensors:
                tensors[0].rank = rank
            elif field == "dtype" and tensors:
                tensors[0].dataType = dtype
            elif field == "input":
                for argument in operation.inputs.values():
                    for binding in argument.arguments:
                        binding.name = text
            elif field == "type":
                operation.type = text
            elif field == "offset" and references:
                references[position % len(references)].offset = offset
            elif field == "file" and references:
                references[position % len(references)].fileName = "@model_path/" + text

        corruption.edit_spec(package, edit)

    check_generated(source, mutate)
