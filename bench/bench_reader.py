"""Compare mlinspect's load-and-summarize time with a raw protobuf walk and with coremltools' MIL loader.

All measurements run in one invocation, on one package, and are printed as ratios:

- mlinspect: `summarize(load(path))`, the work of `mlinspect summary` without the output.
- raw walk: read model.mlmodel, parse it with coremltools' generated `Model_pb2`, and
  visit every op recursively, reading its type.
- graph walk: the raw walk, also reading each op's output names and the value names
  its inputs are bound to. These are the nodes and edges of the graph, the least a reader
  of the graph must read.
- field walk: the raw walk, also reading every field the reader reads (output names and
  types, attribute and input values, and the 64-byte metadata record of each blob
  reference), without building records. It shows what the records themselves cost.
- coremltools: parse the same way, then `coremltools.converters.mil.frontend.milproto.load.load`
  (coremltools 9.0), which builds coremltools' own Program and reads weight data through its blob reader.
- cold start: a new `python -m mlinspect summary PATH` process against a new
  `python -c "import coremltools"` process, alternated, after one warm-up run of each.
  Both get a private bytecode cache (PYTHONPYCACHEPREFIX), as an installed package has.

Usage, from the repository root:

    python bench/bench_reader.py [PACKAGE] [--repeats 5]

The default package is vit_base_w8a8_torch_macos14.mlpackage from $MLINSPECT_VIT_B16_DIR
(or /work/vit-b16), else the largest committed sample.
Targets: mlinspect within 3x of the raw walk, at least 20x faster than the
coremltools loader, and a cold summary at most half the wall time of importing coremltools.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VIT_B16_NAME = "vit_base_w8a8_torch_macos14.mlpackage"
MODEL_FILE = Path("Data") / "com.apple.CoreML" / "model.mlmodel"


def default_package() -> Path:
    for folder in (os.environ.get("MLINSPECT_VIT_B16_DIR"), "/work/vit-b16"):
        if folder and (Path(folder) / VIT_B16_NAME).exists():
            return Path(folder) / VIT_B16_NAME
    samples = sorted((REPO / "samples").glob("*.mlpackage"), key=lambda p: (p / MODEL_FILE).stat().st_size)
    if not samples:
        raise SystemExit("no package given and none found: pass a .mlpackage path")
    return samples[-1]


def timed(function: Callable[[], Any], repeats: int) -> float:
    """Return the median wall time of `repeats` calls, after one untimed warm-up call."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def mlinspect_summary(path: Path) -> Callable[[], Any]:
    from mlinspect.analysis.summary import summarize
    from mlinspect.reader import load

    return lambda: summarize(load(path))


def parsed_walk(path: Path, visit: Callable[[Any], int]) -> Callable[[], int]:
    """Return a function that parses the model file and sums `visit` over every block of every function."""
    from coremltools.proto import Model_pb2

    def walk() -> int:
        spec = Model_pb2.Model()
        spec.ParseFromString((path / MODEL_FILE).read_bytes())
        return sum(
            visit(block)
            for function in spec.mlProgram.functions.values()
            for block in function.block_specializations.values()
        )

    return walk


def raw_walk(path: Path) -> Callable[[], int]:
    def visit(block: Any) -> int:
        count = 0
        for operation in block.operations:
            count += 1
            operation.type
            for nested in operation.blocks:
                count += visit(nested)
        return count

    return parsed_walk(path, visit)


def graph_walk(path: Path) -> Callable[[], int]:
    def visit(block: Any) -> int:
        count = 0
        for operation in block.operations:
            count += 1
            operation.type
            for output in operation.outputs:
                output.name
            for argument in operation.inputs.values():
                for binding in argument.arguments:
                    binding.name
            for nested in operation.blocks:
                count += visit(nested)
        return count

    return parsed_walk(path, visit)


def field_walk(path: Path) -> Callable[[], int]:
    from coremltools.proto import Model_pb2

    def read_type(value_type: Any) -> None:
        tensor = value_type.tensorType
        tensor.dataType, [dimension.constant.size for dimension in tensor.dimensions]

    def read_value(value: Any, weights: Any) -> None:
        read_type(value.type)
        which = value.WhichOneof("value")
        if which == "immediateValue":
            tensor = value.immediateValue.tensor
            kind = tensor.WhichOneof("value")
            if kind is not None:
                len(getattr(tensor, kind).values)
        elif which == "blobFileValue" and weights is not None:
            os.pread(weights.fileno(), 64, value.blobFileValue.offset)

    def visit(block: Any, weights: Any) -> int:
        count = 0
        for operation in block.operations:
            count += 1
            operation.type
            for output in operation.outputs:
                output.name, read_type(output.type)
            for value in operation.attributes.values():
                read_value(value, weights)
            for argument in operation.inputs.values():
                for binding in argument.arguments:
                    if binding.WhichOneof("binding") == "name":
                        binding.name
                    else:
                        read_value(binding.value, weights)
            for nested in operation.blocks:
                count += visit(nested, weights)
        return count

    def walk() -> int:
        spec = Model_pb2.Model()
        spec.ParseFromString((path / MODEL_FILE).read_bytes())
        weight_file = path / MODEL_FILE.parent / "weights" / "weight.bin"
        with open(weight_file, "rb") if weight_file.exists() else contextlib.nullcontext() as weights:
            return sum(
                visit(block, weights)
                for function in spec.mlProgram.functions.values()
                for block in function.block_specializations.values()
            )

    return walk


def coremltools_loader(path: Path) -> Callable[[], Any]:
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto
    from coremltools.proto import Model_pb2

    def load() -> Any:
        spec = Model_pb2.Model()
        spec.ParseFromString((path / MODEL_FILE).read_bytes())
        weights = str(path / MODEL_FILE.parent / "weights")
        return load_milproto(spec, specification_version=spec.specificationVersion, file_weights_dir=weights)

    return load


def cold_runs(path: Path, repeats: int) -> tuple[float, float]:
    """Return the median wall times of a new `mlinspect summary` process and a new `import coremltools` process."""
    with tempfile.TemporaryDirectory(prefix="mlinspect-bytecode-") as cache:
        environment = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "summary": [sys.executable, "-m", "mlinspect", "summary", str(path)],
            "import": [sys.executable, "-c", "import coremltools"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_number in range(repeats + 1):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, env=environment, cwd=REPO, capture_output=True, check=True)
                if round_number > 0:  # round 0 fills the bytecode cache
                    times[name].append(time.perf_counter() - start)
    return statistics.median(times["summary"]), statistics.median(times["import"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", nargs="?", type=Path, help="a .mlpackage (default: see above)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (default 5)")
    arguments = parser.parse_args()
    path = arguments.package or default_package()

    print(f"package: {path}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    cold_summary, cold_import = cold_runs(path, arguments.repeats)

    ops = raw_walk(path)()
    ours = timed(mlinspect_summary(path), arguments.repeats)
    raw = timed(raw_walk(path), arguments.repeats)
    graph = timed(graph_walk(path), arguments.repeats)
    fields = timed(field_walk(path), arguments.repeats)
    theirs = timed(coremltools_loader(path), arguments.repeats)

    print(f"ops: {ops}, model.mlmodel {(path / MODEL_FILE).stat().st_size} bytes; medians of {arguments.repeats} runs\n")
    print(f"mlinspect load + summarize      {ours:8.3f} s")
    print(f"raw protobuf parse + walk       {raw:8.3f} s")
    print(f"graph walk (names of edges)     {graph:8.3f} s")
    print(f"field walk (no records)         {fields:8.3f} s")
    print(f"coremltools milproto loader     {theirs:8.3f} s")
    print(f"cold `mlinspect summary`        {cold_summary:8.3f} s")
    print(f"cold `import coremltools`       {cold_import:8.3f} s\n")

    rows = [
        ("mlinspect / raw walk", ours / raw, "at most 3", ours / raw <= 3),
        ("mlinspect / field walk", ours / fields, "at most 3", ours / fields <= 3),
        ("graph walk / raw walk (no target)", graph / raw, None, None),
        ("coremltools loader / mlinspect", theirs / ours, "at least 20", theirs / ours >= 20),
        ("cold summary / import coremltools", cold_summary / cold_import, "at most 0.5", cold_summary / cold_import <= 0.5),
    ]
    for name, ratio, target, met in rows:
        verdict = "" if target is None else f"  (target {target}: {'met' if met else 'MISSED'})"
        print(f"{name:34} {ratio:7.2f}x{verdict}")


if __name__ == "__main__":
    main()
