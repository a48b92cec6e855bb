"""Time the TUI on a synthetic program of over 10,000 ops with Textual's Pilot.

Usage: python bench/bench_tui.py [--layers N] [--presses N] 2>/dev/null

The app draws to stderr (Textual's terminal driver), so the redirect keeps
the frames out of the results on stdout.

The program is a chain of `--layers` blocks of linear, add, relu and reshape
(four compute ops and three const ops per block), built with coremltools' MIL
builder and converted without optimization passes. The diff screen compares
it with a copy where every 500th relu is a sigmoid. Packages are cached under
MLINSPECT_BENCH_CACHE (default: a folder in the system temp directory).

Targets: first paint after the model is loaded under 1 s. For scrolling and
filtering, the key press to the first frame and to the settled screen under
50 ms each. First paint is measured
from starting the app on an already loaded record to the first frame that
shows the screen, so it leaves reading and comparing the models out. A key's
latency is measured from the press to the first frame written after it
("first frame") and to the last frame before the app is idle again
("settled"), because Pilot's own waits for idle add 80 ms or more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

LAYERS = 2600
WIDTH = 8
VARIANT_EVERY = 500
SIZE = (160, 50)
FIRST_PAINT_TARGET_S = 1.0
KEY_TARGET_MS = 50.0
# Bump when the generated programs change, so that stale cached packages are not reused.
GENERATOR_VERSION = 1


def cache_dir() -> Path:
    folder = os.environ.get("MLINSPECT_BENCH_CACHE")
    path = Path(folder) if folder else Path(tempfile.gettempdir()) / "mlinspect-bench-tui"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chain_program(layers: int, variant: bool):
    """Return a MIL program of `layers` linear → add → relu → reshape blocks over (1, WIDTH) tensors.

    With `variant`, every VARIANT_EVERY-th relu is a sigmoid, so a diff of the
    two programs has a few changed pairs among thousands of equal ones.
    """
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    weight = np.random.default_rng(0).standard_normal((WIDTH, WIDTH)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, WIDTH))], opset_version=ct.target.iOS17)
    def program(x):
        for i in range(layers):
            hidden = mb.linear(x=x, weight=weight, name=f"linear_{i}")
            hidden = mb.add(x=hidden, y=x, name=f"add_{i}")
            if variant and i % VARIANT_EVERY == VARIANT_EVERY - 1:
                hidden = mb.sigmoid(x=hidden, name=f"relu_{i}")
            else:
                hidden = mb.relu(x=hidden, name=f"relu_{i}")
            x = mb.reshape(x=hidden, shape=[1, WIDTH], name=f"reshape_{i}")
        return x

    return program


def chain_package(layers: int = LAYERS, variant: bool = False, folder: Path | None = None) -> Path:
    """Return the path of the cached chain package, building it first when missing (about 15 s for 2,600 layers)."""
    import coremltools as ct

    folder = folder or cache_dir()
    name = f"chain_v{GENERATOR_VERSION}_{layers}{'_variant' if variant else ''}.mlpackage"
    path = folder / name
    if path.exists():
        return path
    model = ct.convert(
        chain_program(layers, variant),
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS17,
        pass_pipeline=ct.PassPipeline.EMPTY,
        skip_model_load=True,
    )
    partial = folder / f".partial-{name}"
    model.save(str(partial))
    partial.rename(path)
    return path


def timed_app(load):
    """Return an MlinspectApp that records when it writes each frame, with the screen it showed."""
    from mlinspect.tui.app import MlinspectApp

    class FrameTimedApp(MlinspectApp):
        def __init__(self) -> None:
            super().__init__(load)
            self.frames: list[tuple[float, object]] = []

        # NOTE: `_display` is Textual's private per-frame hook (textual 8.x). It is not
        # called in headless mode, so `run_test(headless=False)` below is required.
        def _display(self, screen, renderable) -> None:
            if renderable is not None:
                self.frames.append((time.perf_counter(), screen))
            super()._display(screen, renderable)

    return FrameTimedApp()


async def time_press(pilot, *keys: str) -> tuple[float, float]:
    """Press `keys`, wait until the app is idle, and return ms from the press to the first and last frame."""
    frames = pilot.app.frames
    seen = len(frames)
    start = time.perf_counter()
    await pilot.press(*keys)
    await pilot.pause()
    if len(frames) == seen:
        return 0.0, 0.0
    return (frames[seen][0] - start) * 1000, (frames[-1][0] - start) * 1000


async def measure(
    app,
    ready: Callable[[object], bool],
    actions: Callable[[object], Awaitable[dict[str, list[tuple[float, float]]]]],
) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    """Run `app`, time from start to the first frame of the loaded screen, then run `actions`."""
    start = time.perf_counter()
    async with app.run_test(size=SIZE, headless=False) as pilot:
        while not ready(pilot.app):
            await pilot.pause(0.001)
        await pilot.pause()
        shown = next(t for t, screen in app.frames if screen is app.screen)
        samples = await actions(pilot)
    return shown - start, samples


async def diff_actions(pilot, presses: int) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {
        "diff down": [],
        "diff pagedown": [],
        "diff c (filter)": [],
    }
    for _ in range(presses):
        samples["diff down"].append(await time_press(pilot, "down"))
    for _ in range(max(presses // 4, 3)):
        samples["diff pagedown"].append(await time_press(pilot, "pagedown"))
    for _ in range(4):
        samples["diff c (filter)"].append(await time_press(pilot, "c"))
    await time_press(pilot, "slash")
    # A blinking cursor would add frames long after the key was handled.
    pilot.app.screen.query_one("#diff-search").cursor_blink = False
    typed = []
    for key in "relu_1":
        typed.append(await time_press(pilot, key))
    samples["diff / + typing"] = typed
    return samples


async def browse_actions(pilot, presses: int) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {"browse down": [], "browse pagedown": []}
    for _ in range(presses):
        samples["browse down"].append(await time_press(pilot, "down"))
    for _ in range(max(presses // 4, 3)):
        samples["browse pagedown"].append(await time_press(pilot, "pagedown"))
    return samples


def target_met(values: list[float]) -> str:
    """Return "yes" when every value is under KEY_TARGET_MS, "median only" when the median is, else "NO"."""
    if max(values) < KEY_TARGET_MS:
        return "yes"
    return "median only" if statistics.median(values) < KEY_TARGET_MS else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--layers", type=int, default=LAYERS, help="blocks of 4 compute ops")
    parser.add_argument("--presses", type=int, default=40, help="presses of `down` per screen")
    args = parser.parse_args(argv)

    from mlinspect.analysis.ops import analyze
    from mlinspect.analysis.summary import summarize
    from mlinspect.comparison.compare import compare
    from mlinspect.reader import load
    from mlinspect.tui.loading import BrowseData, diff_data
    from mlinspect.tui.screens.browse_screen import BrowseScreen
    from mlinspect.tui.screens.diff_screen import DiffScreen

    start = time.perf_counter()
    path_a = chain_package(args.layers)
    path_b = chain_package(args.layers, variant=True)
    built = time.perf_counter() - start
    model_a, model_b = load(path_a), load(path_b)
    analysis_a = analyze(model_a)
    diff = diff_data(compare(analysis_a, analyze(model_b)))
    browse = BrowseData(analysis_a, summarize(model_a, analysis_a))
    loaded = time.perf_counter() - start - built
    compute_ops = sum(1 for op in analysis_a.ops if op.op.type != "const")
    print(
        f"model: {len(analysis_a.ops)} ops ({compute_ops} not const), {len(diff.document['pairs'])} pairs;"
        f" build or cache {built:.1f} s, load and compare {loaded:.1f} s"
    )

    def is_shown(screen_type):
        return lambda app: isinstance(app.screen, screen_type) and app.screen.is_mounted

    paint_diff, samples = asyncio.run(
        measure(
            timed_app(lambda: diff),
            is_shown(DiffScreen),
            lambda pilot: diff_actions(pilot, args.presses),
        )
    )
    paint_browse, browse_samples = asyncio.run(
        measure(
            timed_app(lambda: browse),
            is_shown(BrowseScreen),
            lambda pilot: browse_actions(pilot, args.presses),
        )
    )
    samples.update(browse_samples)

    print(
        f"{'measure':<24}{'first median':>14}{'first max':>11}{'settled median':>16}"
        f"{'settled max':>13}{'target':>9}  first met, settled met"
    )
    for label, seconds in (("diff first paint", paint_diff), ("browse first paint", paint_browse)):
        met = "yes" if seconds < FIRST_PAINT_TARGET_S else "NO"
        print(
            f"{label:<24}{seconds * 1000:>12.0f}ms{'':>11}{'':>16}{'':>13}"
            f"{FIRST_PAINT_TARGET_S * 1000:>7.0f}ms  {met}"
        )
    for label, pairs in samples.items():
        first = [first for first, _ in pairs]
        settled = [last for _, last in pairs]
        print(
            f"{label:<24}{statistics.median(first):>12.1f}ms{max(first):>9.1f}ms"
            f"{statistics.median(settled):>14.1f}ms{max(settled):>11.1f}ms{KEY_TARGET_MS:>7.0f}ms"
            f"  {target_met(first)}, {target_met(settled)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
