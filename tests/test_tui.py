"""Pilot tests of the diff and browse screens on small models built with coremltools' MIL builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from test_tui_models import synchronous
from textual.widgets import Input, OptionList, Static, Tree

from mlinspect.comparison.compare import compare
from mlinspect.reader import load
from mlinspect.tui.app import MlinspectApp, browse_app, diff_app
from mlinspect.tui.devices import (
    CPU,
    DEVICES,
    GPU,
    LABELS,
    NEURAL_ENGINE,
    STYLES,
    UNKNOWN,
    device_of,
)
from mlinspect.tui.loading import diff_data
from mlinspect.tui.screens.browse_screen import BrowseScreen
from mlinspect.tui.screens.diff_screen import DiffScreen
from mlinspect.tui.screens.help_screen import HelpScreen
from mlinspect.tui.screens.loading_screen import LoadingScreen
from mlinspect.tui.screens.neighbourhood_screen import NeighbourhoodScreen
from mlinspect.tui.widgets.op_detail import OpDetail
from mlinspect.tui.widgets.row_table import RowTable

SIZE = (160, 50)
# The A/B pair has 11 pairs and one relu only in B; 5 pairs changed (the linear weights).
ALL_ROWS = 12
CHANGED_ROWS = 5

# The session fixtures (block_pair, control_flow_model) live in test_tui_models.
pytest_plugins = ("test_tui_models",)


def text_of(widget: Static | OpDetail) -> str:
    """Render a widget's content to plain text, wide enough that nothing wraps."""
    console = Console(width=400, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


async def wait_loaded(app: MlinspectApp, pilot) -> None:
    """Wait until the loading worker has finished and its screen replaced the loading screen."""
    for _ in range(200):
        await pilot.pause(0.05)
        if isinstance(app.screen, (DiffScreen, BrowseScreen)) and app.screen.is_mounted:
            return
    raise AssertionError("the loading screen was still shown after 10 s")


def changed_linears(screen: DiffScreen) -> list[tuple[str, str]]:
    return [
        (row.a["id"], row.b["id"])
        for row in screen.rows
        if row.changes and row.a["type"] == "linear"
    ]


def table_ids(screen: DiffScreen) -> list[tuple[str | None, str | None]]:
    return [(row.a and row.a["id"], row.b and row.b["id"]) for row in screen.shown_rows]


@pytest.fixture(scope="module")
def comparison_data(block_pair):
    path_a, path_b = block_pair
    return diff_data(compare(load(path_a), load(path_b)))


# Diff screen


@synchronous
async def test_diff_header_names_models(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        header = text_of(pilot.app.screen.query_one("#diff-header", Static))

    assert "block_fp16.mlpackage" in header
    assert "block_int8.mlpackage" in header
    assert "ops 35" in header
    assert "ops 36" in header
    assert "weights 10.69 kB" in header


@synchronous
async def test_diff_category_panel_has_bars(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        panel = text_of(pilot.app.screen.query_one("#diff-categories", Static))

    assert "matmul" in panel
    assert "10.56 kB" in panel
    assert "5.92 kB" in panel
    assert "█" in panel


@synchronous
async def test_diff_table_lists_pairs_and_unpaired(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        table = screen.query_one(RowTable)

        assert isinstance(screen, DiffScreen)
        assert table.row_count == ALL_ROWS
        assert (None, "main/extra_relu_cast_fp16") in table_ids(screen)
        assert pilot.app.focused is table


@synchronous
async def test_diff_scope_keys_filter_rows(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen

        await pilot.press("c")  # changed pairs only
        changed = table_ids(screen)
        await pilot.press("c")  # back to every pair
        every = table_ids(screen)
        await pilot.press("b")  # only in B
        only_b = table_ids(screen)
        await pilot.press("a")  # only in A: none
        only_a = table_ids(screen)
        detail = text_of(screen.query_one("#diff-detail", OpDetail))

    assert len(changed) == CHANGED_ROWS
    assert all(a.endswith("_cast_fp16") for a, _ in changed)
    assert len(every) == ALL_ROWS
    assert only_b == [(None, "main/extra_relu_cast_fp16")]
    assert only_a == []
    assert "no rows match" in detail


@synchronous
async def test_diff_category_key_cycles(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen

        await pilot.press("g")  # first category: matmul
        first = screen.row_filter.category
        categories = {row.category for row in screen.shown_rows}

    assert first == "matmul"
    assert categories == {"matmul"}


@synchronous
async def test_diff_sort_key_orders_rows(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen

        await pilot.press("s")  # program order → bytes
        by_bytes = [max(side["weight_bytes"] for side in row.sides()) for row in screen.shown_rows]
        await pilot.press("s")  # bytes → cost
        by_cost = [max(side["flops"] or 0 for side in row.sides()) for row in screen.shown_rows]
        await pilot.press("s", "s")  # cost → latency → name
        by_name = [row.name for row in screen.shown_rows]
        sort = screen.row_filter.sort

    assert by_bytes == sorted(by_bytes, reverse=True)
    assert by_cost == sorted(by_cost, reverse=True)
    assert by_name == sorted(by_name)
    assert sort == "name"


@synchronous
async def test_diff_search_filters_incrementally(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen

        await pilot.press("slash")  # open the search field
        search = screen.query_one("#diff-search", Input)
        focused_search = pilot.app.focused is search
        await pilot.press("k")
        after_k = table_ids(screen)
        await pilot.press("e", "y")  # "key"
        after_key = table_ids(screen)
        await pilot.press("escape")  # clear and close the search
        after_escape = table_ids(screen)

    assert focused_search
    assert len(after_k) < ALL_ROWS
    assert after_key == [("main/key_cast_fp16", "main/key_cast_fp16")]
    assert len(after_escape) == ALL_ROWS
    assert search.display is False


@synchronous
async def test_diff_detail_follows_cursor(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        await pilot.press("c")  # changed pairs: the linears
        await pilot.press("down")
        selected = screen.selected_row()
        detail = text_of(screen.query_one("#diff-detail", OpDetail))

    assert selected is screen.shown_rows[1]
    assert selected.a["id"] in detail
    assert "weight: fp16 [32x32]" in detail
    assert "weight: int8 [32x32], scheme affine" in detail
    assert "weight dtype fp16 → int8" in detail
    assert "fp16[4, 32]" in detail


@synchronous
async def test_diff_finding_jumps_to_ops(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen

        await pilot.press("f")  # focus the findings list
        focused_findings = isinstance(pilot.app.focused, OptionList)
        await pilot.press("home", "enter")  # select the first finding (int8 weights)
        jumped = table_ids(screen)
        table_focused = isinstance(pilot.app.focused, RowTable)
        await pilot.press("escape")  # drop the finding filter
        cleared = table_ids(screen)

    assert focused_findings
    assert len(jumped) == CHANGED_ROWS
    assert {a for a, _ in jumped} == {a for a, _ in changed_linears(screen)}
    assert table_focused
    assert len(cleared) == ALL_ROWS


@synchronous
async def test_diff_neighbourhood_shows_both_models(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("slash", *"projected", "enter")  # select the output projection
        await pilot.press("n")
        screen = pilot.app.screen
        side_a = text_of(screen.query_one("#neighbourhood-a", Static))
        side_b = text_of(screen.query_one("#neighbourhood-b", Static))
        await pilot.press("plus")
        hops = screen.hops
        three_hops = screen.rings()["A"]
        await pilot.press("k")  # show const ops too
        with_constants = text_of(screen.query_one("#neighbourhood-a", Static))
        await pilot.press("escape")
        back = pilot.app.screen

    assert isinstance(screen, NeighbourhoodScreen)
    assert "main/mixed_cast_fp16" in side_a  # producer, one hop
    assert "main/residual_cast_fp16" in side_a  # consumer, one hop
    assert "main/extra_relu_cast_fp16" in side_b  # consumer of B's residual, two hops
    assert "main/extra_relu_cast_fp16" not in side_a
    assert " const " not in side_a
    assert " const " in with_constants
    assert hops == 3
    assert len(three_hops["producers"]) == 3
    assert isinstance(back, DiffScreen)


@synchronous
async def test_diff_help_lists_keys(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        keys = dict(help_screen.keys)
        await pilot.press("escape")
        back = pilot.app.screen

    assert isinstance(help_screen, HelpScreen)
    assert keys["/"] == "Search"
    assert keys["n"] == "Neighbours"
    assert keys["q"] == "Quit"
    assert keys["e"] == "Export JSON"
    assert isinstance(back, DiffScreen)


@synchronous
async def test_diff_export_writes_shown_rows(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("c", "e")  # changed pairs only, then export
        await pilot.pause()
        notifications = [n.message for n in pilot.app._notifications]

    files = list(tmp_path.glob("mlinspect-diff-*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["view"] == "diff"
    assert record["filters"]["scope"] == "changed"
    assert len(record["rows"]) == CHANGED_ROWS
    assert record["selected"]["a"]["id"] == record["rows"][0]["a"]["id"]
    assert any(str(files[0]) in message for message in notifications)


@synchronous
async def test_export_failure_is_notification(block_pair, tmp_path):
    missing = tmp_path / "missing-folder"
    async with diff_app(*block_pair, export_dir=missing).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("e")
        await pilot.pause()
        errors = [n for n in pilot.app._notifications if n.severity == "error"]
        still_running = pilot.app.is_running

    assert len(errors) == 1
    assert "could not write" in errors[0].message
    assert still_running


@synchronous
async def test_q_quits(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("q")
        await pilot.pause()

        assert not pilot.app.is_running


@synchronous
async def test_mouse_click_selects_row(block_pair, tmp_path):
    async with diff_app(*block_pair, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        # Row 0 of the table is its header, so offset y=4 is the fourth data row.
        clicked = await pilot.click("#diff-table", offset=(10, 4))
        await pilot.pause()
        selected = screen.selected_row()

    assert clicked
    assert selected is screen.shown_rows[3]


@synchronous
async def test_load_error_is_notification(tmp_path):
    missing = tmp_path / "missing.mlpackage"
    async with diff_app(missing, missing, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if pilot.app._notifications:
                break
        screen = pilot.app.screen
        message = text_of(screen.query_one("#loading-message", Static))
        errors = [n for n in pilot.app._notifications if n.severity == "error"]
        await pilot.press("q")

    assert isinstance(screen, LoadingScreen)
    assert "missing.mlpackage" in message
    assert "Traceback" not in message
    assert len(errors) == 1
    assert pilot.app.return_code in (0, None)


@synchronous
async def test_diff_profile_devices_and_latency(comparison_data, tmp_path):
    comparison_data.placements_a = {
        "main/query_cast_fp16": {"device": NEURAL_ENGINE, "estimated_ms": 0.25}
    }
    comparison_data.placements_b = {"main/query_cast_fp16": {"device": GPU, "estimated_ms": 0.5}}
    try:
        async with diff_app(data=comparison_data, export_dir=tmp_path).run_test(size=SIZE) as pilot:
            await wait_loaded(pilot.app, pilot)
            screen = pilot.app.screen
            await pilot.press("d")  # device filter: Neural Engine
            on_ane = table_ids(screen)
            await pilot.press("d")  # GPU
            on_gpu = table_ids(screen)
            await pilot.press("d", "d")  # CPU, then unknown
            unknown = table_ids(screen)
            await pilot.press("d", "s", "s", "s")  # no device filter; sort by latency
            by_latency = table_ids(screen)
            legend = text_of(screen.query_one("#diff-legend", Static))
    finally:
        comparison_data.placements_a = comparison_data.placements_b = None

    assert on_ane == [("main/query_cast_fp16", "main/query_cast_fp16")]
    assert on_gpu == on_ane
    assert len(unknown) == ALL_ROWS - 1
    assert by_latency[0] == ("main/query_cast_fp16", "main/query_cast_fp16")
    assert "no profile" not in legend


# Committed ViT samples

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_A = SAMPLES / "vit_tiny_fp16_macos14.mlpackage"
SAMPLE_B = SAMPLES / "vit_tiny_w8a8_torch_macos14.mlpackage"
needs_samples = pytest.mark.skipif(
    not (SAMPLE_A.exists() and SAMPLE_B.exists()), reason="samples/vit_tiny_*.mlpackage are missing"
)


@needs_samples
@synchronous
async def test_diff_on_vit_samples(tmp_path):
    async with diff_app(SAMPLE_A, SAMPLE_B, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        document = screen.data.document
        findings = screen.query_one("#diff-findings", OptionList)
        await pilot.press("c")  # changed pairs only
        changed = len(screen.shown_rows)
        await pilot.press("n")  # neighbourhood of the first changed pair
        neighbourhood = pilot.app.screen

    assert len(screen.rows) == len(document["pairs"]) + len(document["only_in_a"]) + len(
        document["only_in_b"]
    )
    assert findings.option_count == len(document["findings"])
    assert findings.option_count > 0
    assert changed == sum(1 for pair in document["pairs"] if pair["changes"])
    assert isinstance(neighbourhood, NeighbourhoodScreen)


@needs_samples
@synchronous
async def test_browse_on_vit_sample(tmp_path):
    async with browse_app(SAMPLE_B, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        await pilot.press("down", "down", "down")
        selected = screen.selected_op_id
        summary = text_of(screen.query_one("#browse-summary", Static))

    assert selected is not None
    assert "vit_tiny_w8a8_torch_macos14.mlpackage" in summary
    assert "matmul" in summary


# Browse screen


@synchronous
async def test_browse_tree_shows_nested_blocks(control_flow_model, tmp_path):
    async with browse_app(control_flow_model, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        tree = screen.query_one(Tree)
        tree.move_cursor(tree.root)
        await pilot.press("x")  # expand every block below the root
        labels = []
        pending = [tree.root]
        while pending:
            node = pending.pop()
            labels.append(node.label.plain)
            pending.extend(node.children)

    assert isinstance(screen, BrowseScreen)
    assert any(label.startswith("function main") for label in labels)
    assert any(label.startswith("block main ") for label in labels)
    block_labels = [label for label in labels if label.startswith("block main/")]
    assert len(block_labels) >= 4  # cond: two branches; while_loop: condition and body
    assert any("then_relu" in label for label in labels)
    assert any("loop_double" in label for label in labels)


@synchronous
async def test_browse_detail_and_summary(block_pair, tmp_path):
    async with browse_app(block_pair[1], export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        tree = screen.query_one(Tree)
        target = next(
            node
            for node in _walk(tree.root)
            if node.data and node.data[0] == "op" and node.data[1] == "main/query_cast_fp16"
        )
        tree.move_cursor(target)
        await pilot.pause()
        detail = text_of(screen.query_one("#browse-detail", OpDetail))
        summary = text_of(screen.query_one("#browse-summary", Static))
        await pilot.press("e")
        await pilot.pause()

    assert screen.selected_op_id == "main/query_cast_fp16"
    assert "linear" in detail
    assert "weight: int8 [32x32], scheme affine" in detail
    assert "block_int8.mlpackage" in summary
    assert "weight_decompression" in summary
    assert "36 ops" in summary
    record = json.loads(next(tmp_path.glob("mlinspect-browse-*.json")).read_text())
    assert record["selected"]["id"] == "main/query_cast_fp16"
    assert record["summary"]["ops"]["total"] == 36


@synchronous
async def test_browse_colours_ops_by_device(block_pair, tmp_path):
    placements = {"main/query_cast_fp16": {"device": CPU, "estimated_ms": None}}
    async with browse_app(block_pair[0], export_dir=tmp_path, placements=placements).run_test(
        size=SIZE
    ) as pilot:
        await wait_loaded(pilot.app, pilot)
        tree = pilot.app.screen.query_one(Tree)
        labels = {
            node.data[1]: node.label
            for node in _walk(tree.root)
            if node.data and node.data[0] == "op"
        }

    query_styles = {str(span.style) for span in labels["main/query_cast_fp16"].spans}
    key_styles = {str(span.style) for span in labels["main/key_cast_fp16"].spans}
    assert STYLES[CPU] in query_styles
    assert STYLES[UNKNOWN] in key_styles
    assert labels["main/query_cast_fp16"].plain.strip().startswith(LABELS[CPU])


@synchronous
async def test_browse_help_and_quit(control_flow_model, tmp_path):
    async with browse_app(control_flow_model, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        await pilot.press("escape", "q")
        await pilot.pause()

        assert isinstance(help_screen, HelpScreen)
        assert "x" in dict(help_screen.keys)
        assert not pilot.app.is_running


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


# Device colours


def test_device_of_without_profile_is_unknown():
    assert device_of(None, "main/x") == UNKNOWN
    assert device_of({}, "main/x") == UNKNOWN
    assert device_of({"main/x": {"device": None}}, "main/x") == UNKNOWN
    assert device_of({"main/x": {"device": "tpu"}}, "main/x") == UNKNOWN
    assert device_of({"main/x": {"device": GPU}}, "main/x") == GPU


@pytest.mark.parametrize("device", DEVICES)
def test_device_badge_fixed_foreground_and_background(device):
    # A badge sets both colours, so it reads the same on light and dark themes.
    style = STYLES[device]
    assert "#ffffff on #" in style
