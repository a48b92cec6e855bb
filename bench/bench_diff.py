"""Time `mlinspect diff` on two ViT variants: loading both, then the comparison alone, in one run.

Usage: python bench/bench_diff.py [A.mlpackage B.mlpackage] [--repeat N]
Defaults to the ViT-B/16 torch-path and coreml-path W8A8 packages in
$MLINSPECT_VIT_B16_DIR (made by samples/make_samples.py --size base), else
the committed tiny samples. Target: the comparison under 0.2 s after loading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_pair() -> tuple[Path, Path]:
    base = os.environ.get("MLINSPECT_VIT_B16_DIR")
    folder, size = (Path(base), "base") if base else (REPO / "samples", "tiny")
    coreml = "w8a8_coreml_macos14" if sys.platform == "darwin" else "w8a8_coreml_uncalibrated_macos14"
    return folder / f"vit_{size}_w8a8_torch_macos14.mlpackage", folder / f"vit_{size}_{coreml}.mlpackage"


def timed(function, repeat: int) -> tuple[float, object]:
    samples = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    a, b = args.models if len(args.models) == 2 else default_pair()

    import mlinspect
    from mlinspect.comparison.compare import compare, to_json

    load_time, models = timed(lambda: (mlinspect.load(a), mlinspect.load(b)), args.repeat)
    compare_time, comparison = timed(lambda: compare(*models), args.repeat)
    json_time, _ = timed(lambda: to_json(comparison), args.repeat)

    print(f"A: {a}\nB: {b}")
    print(f"ops: {len(list(models[0].walk()))} and {len(list(models[1].walk()))}")
    print(f"load both (median of {args.repeat}):   {load_time:.3f} s")
    print(f"compare after loading:        {compare_time:.3f} s  (target < 0.200 s: {'met' if compare_time < 0.2 else 'MISSED'})")
    print(f"build the JSON document:      {json_time:.3f} s")
    print(f"compare / load ratio:         {compare_time / load_time:.2f}")


if __name__ == "__main__":
    main()
