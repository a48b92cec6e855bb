"""Measure load time and peak memory of `mlinspect.load` per op count and per weight.bin size.

Each measurement runs in a new child process, so that peak RSS
(resource.getrusage ru_maxrss) belongs to that one load. Packages come from
bench/synthetic.py: transformer-like programs of about 1,000, 10,000 and
50,000 ops, and chains of linears whose sparse weight.bin declares 10 MB,
1 GB and 8 GB. Run from the repository root:

    python bench/bench_load.py [--repeats 3]

Targets: a 50,000-op program loads in under 3 s with a peak RSS under 300 MB.
Load time grows about linearly with ops, and peak RSS does not grow with weight.bin size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import synthetic

OP_COUNTS = (1_000, 10_000, 50_000)
WEIGHT_SIZES = (10 * 10**6, 10**9, 8 * 10**9)
TARGET_SECONDS = 3.0
TARGET_RSS_MB = 300


def child(path: str) -> None:
    """Load `path` once and print the load time, op count and peak RSS as JSON (runs in the child process)."""
    import resource

    import mlinspect
    from mlinspect.reader.proto import mil_pb2, model_pb2

    # Importing the generated protobuf modules is a fixed cost per process. It
    # is measured apart, so that the load time shows how it grows with ops.
    start = time.perf_counter()
    model_pb2(), mil_pb2()
    proto_seconds = time.perf_counter() - start
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    model = mlinspect.load(path)
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "proto_import_seconds": proto_seconds,
        "ops": sum(1 for _ in model.walk()),
        "weight_bytes": sum(blob.nbytes for op in model.walk() for blob in op.blobs()),
        # ru_maxrss is in kilobytes on Linux (bytes on macOS).
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10),
        "import_rss_mb": baseline / (1 << 20 if sys.platform == "darwin" else 1 << 10),
    }
    print(json.dumps(result))


def measure(path: Path, repeats: int) -> dict[str, float]:
    """Return the median load time, and the max peak RSS, of `repeats` child processes loading `path`."""
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
        ).stdout
        runs.append(json.loads(output.splitlines()[-1]))
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "proto_import_seconds": statistics.median(run["proto_import_seconds"] for run in runs),
        "min_seconds": min(run["seconds"] for run in runs),
        "ops": runs[0]["ops"],
        "weight_bytes": runs[0]["weight_bytes"],
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
        "import_rss_mb": max(run["import_rss_mb"] for run in runs),
    }


def report_ops(repeats: int) -> dict[int, dict[str, float]]:
    results = {count: measure(synthetic.transformer_package(count), repeats) for count in OP_COUNTS}
    print(f"importing the protobuf modules: {results[OP_COUNTS[0]]['proto_import_seconds']:.3f} s "
          "(once per process, not included below)\n")
    smallest = results[OP_COUNTS[0]]
    print("load time per op count (transformer-like programs, 3 functions, nested cond blocks)")
    print(f"{'ops':>8} {'load s (median)':>16} {'min s':>8} {'ms per 1k ops':>14} {'time ratio':>11} {'ops ratio':>10} {'peak RSS MB':>12}")
    for count, result in results.items():
        print(
            f"{result['ops']:>8} {result['seconds']:>16.3f} {result['min_seconds']:>8.3f} "
            f"{1000 * result['seconds'] / result['ops'] * 1000:>14.1f} "
            f"{result['seconds'] / smallest['seconds']:>11.1f} {result['ops'] / smallest['ops']:>10.1f} "
            f"{result['peak_rss_mb']:>12.0f}"
        )
    return results


def report_weights(repeats: int) -> dict[int, dict[str, float]]:
    results = {size: measure(synthetic.wide_mlp_package(size), repeats) for size in WEIGHT_SIZES}
    smallest = results[WEIGHT_SIZES[0]]
    print("\nload time and peak RSS per declared weight.bin size (8 linears, sparse weight.bin)")
    print(f"{'weight bytes':>14} {'file bytes':>14} {'load s (median)':>16} {'peak RSS MB':>12} {'RSS ratio':>10}")
    for size, result in results.items():
        file_size = (synthetic.wide_mlp_package(size) / synthetic.WEIGHT_FILE).stat().st_size
        print(
            f"{result['weight_bytes']:>14} {file_size:>14} {result['seconds']:>16.3f} "
            f"{result['peak_rss_mb']:>12.0f} {result['peak_rss_mb'] / smallest['peak_rss_mb']:>10.2f}"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="child processes per package (default 3)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    synthetic.build_in_subprocess(OP_COUNTS, WEIGHT_SIZES)
    by_ops = report_ops(arguments.repeats)
    by_weights = report_weights(arguments.repeats)

    largest = by_ops[OP_COUNTS[-1]]
    weights = [result["peak_rss_mb"] for result in by_weights.values()]
    print("\ntargets")
    print(f"  {largest['ops']} ops load in {largest['seconds']:.2f} s (target < {TARGET_SECONDS} s): "
          f"{'met' if largest['seconds'] < TARGET_SECONDS else 'MISSED'}")
    print(f"  peak RSS {largest['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB): "
          f"{'met' if largest['peak_rss_mb'] < TARGET_RSS_MB else 'MISSED'}")
    print(f"  peak RSS from {WEIGHT_SIZES[0] / 1e6:.0f} MB to {WEIGHT_SIZES[-1] / 1e9:.0f} GB of weights: "
          f"{weights[0]:.0f} to {weights[-1]:.0f} MB ({weights[-1] / weights[0]:.2f}x)")


if __name__ == "__main__":
    main()
