"""SVG snapshot tests of the TUI screens (pytest-textual-snapshot); `--snapshot-update` rewrites them."""

from __future__ import annotations

from textual.widgets import Tree

from mlinspect.tui.app import browse_app, diff_app
from mlinspect.tui.screens.browse_screen import BrowseScreen
from mlinspect.tui.screens.diff_screen import DiffScreen

SIZE = (160, 50)

# The session fixtures (block_pair, control_flow_model) live in test_tui_models.
pytest_plugins = ("test_tui_models",)


async def wait_loaded(pilot) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if isinstance(pilot.app.screen, (DiffScreen, BrowseScreen)) and pilot.app.screen.is_mounted:
            return
    raise AssertionError("the loading screen was still shown after 10 s")


# Diff screen


def test_diff_screen_snapshot(block_pair, tmp_path, snap_compare):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("down")  # select the second pair so the detail pane shows a linear

    assert snap_compare(
        diff_app(*block_pair, export_dir=tmp_path), terminal_size=SIZE, run_before=run_before
    )


def test_diff_changed_sorted_snapshot(block_pair, tmp_path, snap_compare):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("c")  # changed pairs only
        await pilot.press("s")  # sort by bytes

    assert snap_compare(
        diff_app(*block_pair, export_dir=tmp_path), terminal_size=SIZE, run_before=run_before
    )


def test_neighbourhood_snapshot(block_pair, tmp_path, snap_compare):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("slash", *"residual", "enter")  # select the residual add
        await pilot.press("n")  # open its neighbourhood

    assert snap_compare(
        diff_app(*block_pair, export_dir=tmp_path), terminal_size=SIZE, run_before=run_before
    )


def test_help_screen_snapshot(block_pair, tmp_path, snap_compare):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(
        diff_app(*block_pair, export_dir=tmp_path), terminal_size=SIZE, run_before=run_before
    )


# Browse screen


def test_browse_control_flow_snapshot(control_flow_model, tmp_path, snap_compare):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        tree = pilot.app.screen.query_one(Tree)
        tree.move_cursor(tree.root)
        await pilot.press("x")  # expand every block, nested cond and while_loop bodies included
        await pilot.press("down", "down", "down", "down")  # highlight the first op

    assert snap_compare(
        browse_app(control_flow_model, export_dir=tmp_path),
        terminal_size=SIZE,
        run_before=run_before,
    )


# Profiled diff screen


def test_profiled_diff_snapshot(tmp_path, snap_compare):
    from test_tui_profiles import SAMPLE_A, SAMPLE_B, side_profile

    from mlinspect.comparison.compare import compare, to_json
    from mlinspect.reader import load
    from mlinspect.tui.loading import DiffData

    comparison = compare(
        load(SAMPLE_A), load(SAMPLE_B), side_profile(SAMPLE_A), side_profile(SAMPLE_B)
    )

    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("s", "s", "s")  # sort by estimated latency

    assert snap_compare(
        diff_app(data=DiffData(comparison, to_json(comparison)), export_dir=tmp_path),
        terminal_size=SIZE,
        run_before=run_before,
    )
