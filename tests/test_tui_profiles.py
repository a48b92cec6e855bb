"""Pilot tests of profiles, error handling and a 10,000-op model in the TUI.

The profiles come from tests/profile_fakes.py: their numbers are made up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from profile_fakes import fake_profile
from test_tui import SAMPLE_A, SAMPLE_B, SIZE, needs_samples, text_of, wait_loaded
from test_tui_models import synchronous
from textual.widgets import Static, Tree
from typer.testing import CliRunner

from mlinspect.analysis.ops import analyze
from mlinspect.analysis.summary import summarize
from mlinspect.comparison.compare import compare, to_json
from mlinspect.comparison.timing import SideProfile
from mlinspect.profile import attribute
from mlinspect.profile.record import profile_record
from mlinspect.reader import load
from mlinspect.tui.app import browse_app, diff_app
from mlinspect.tui.devices import LABELS, NEURAL_ENGINE, STYLES
from mlinspect.tui.loading import BrowseData, DiffData
from mlinspect.tui.widgets.op_detail import OpDetail
from mlinspect.tui.screens.diff_screen import DiffScreen
from mlinspect.tui.widgets.row_table import RowTable

BENCH = Path(__file__).resolve().parent.parent / "bench"


def side_profile(path: Path) -> SideProfile:
    profile = fake_profile(path)
    return SideProfile(profile, attribute(profile, analyze(load(path))))


@pytest.fixture(scope="module")
def profiled_diff() -> DiffData:
    if not (SAMPLE_A.exists() and SAMPLE_B.exists()):
        pytest.skip("samples/vit_tiny_*.mlpackage are missing")
    comparison = compare(
        load(SAMPLE_A), load(SAMPLE_B), side_profile(SAMPLE_A), side_profile(SAMPLE_B)
    )
    return DiffData(comparison, to_json(comparison))


def profiled_diff_app(data: DiffData, tmp_path: Path):
    return diff_app(data=data, export_dir=tmp_path)


@needs_samples
@synchronous
async def test_profiled_diff_header_and_categories(profiled_diff, tmp_path):
    async with profiled_diff_app(profiled_diff, tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        header = text_of(pilot.app.screen.query_one("#diff-header", Static))
        panel = text_of(pilot.app.screen.query_one("#diff-categories", Static))

    assert "Apple M4 (made up)" in header
    assert "Apple M4 (made up), all" in header
    assert "latency estimated from the compute plan" in header
    assert "est. ms" in panel


@needs_samples
@synchronous
async def test_profiled_diff_devices_and_latency(profiled_diff, tmp_path):
    async with profiled_diff_app(profiled_diff, tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        table = screen.query_one(RowTable)
        titles = [title for title, _ in table.columns]
        await pilot.press("d")  # device filter: Neural Engine
        on_ane = list(screen.shown_rows)
        first_cells = table.rows[0]
        detail = text_of(screen.query_one("#diff-detail", OpDetail))
        await pilot.press("d", "d", "d", "d")  # back to no device filter
        await pilot.press("s", "s", "s")  # sort by latency
        by_latency = list(screen.shown_rows)

    assert "A est. ms" in titles
    assert "B est. ms" in titles
    assert on_ane
    assert all(
        NEURAL_ENGINE in {(r.a or {}).get("device"), (r.b or {}).get("device")} for r in on_ane
    )
    assert (
        first_cells[9].plain.strip() == LABELS[NEURAL_ENGINE]
        or first_cells[10].plain.strip() == LABELS[NEURAL_ENGINE]
    )
    assert any(STYLES[NEURAL_ENGINE] == str(span.style) for span in first_cells[9].spans)
    assert "preferred device" in detail
    assert "supported" in detail
    assert "cost weight" in detail
    assert "estimated from the compute plan" in detail
    latencies = [max(s["estimated_ms"] or 0 for s in row.sides()) for row in by_latency[:5]]
    assert latencies == sorted(latencies, reverse=True)
    assert latencies[0] > 0


@needs_samples
@synchronous
async def test_profiled_browse_colours_and_summary(tmp_path):
    model = load(SAMPLE_A)
    analysis = analyze(model)
    side = side_profile(SAMPLE_A)
    data = BrowseData(analysis, summarize(model, analysis), profile=side)
    matmul_id = next(x.id for x in analysis.ops if x.op.type == "linear")
    async with browse_app(data=data, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        summary = text_of(screen.query_one("#browse-summary", Static))
        detail = screen.op_detail(matmul_id)
        tree = screen.query_one(Tree)
        nodes = [tree.root]
        labels = {}
        while nodes:
            node = nodes.pop()
            nodes.extend(node.children)
            if node.data and node.data[0] == "op":
                labels[node.data[1]] = node.label

    assert "est. ms" in summary
    assert "latency estimated from the compute plan" in summary
    assert detail["device"] == NEURAL_ENGINE
    assert "gpu" in detail["supported_devices"]
    assert detail["cost_weight"] > 0
    assert detail["estimated_ms"] > 0
    styles = {str(span.style) for span in labels[matmul_id].spans}
    assert STYLES[NEURAL_ENGINE] in styles


@needs_samples
def test_browse_rejects_profile_of_other_model(tmp_path):
    from mlinspect.cli.main import app

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(profile_record(fake_profile(SAMPLE_B))), encoding="utf-8")
    invalid = tmp_path / "invalid.json"
    invalid.write_text("{not json", encoding="utf-8")
    runner = CliRunner()

    for profile in (wrong, invalid):
        result = runner.invoke(app, ["browse", str(SAMPLE_A), "--profile", str(profile)])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("mlinspect: error: ")
        assert len(result.stderr.strip().splitlines()) == 1


@needs_samples
@synchronous
async def test_action_exception_is_notification(profiled_diff, tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("forced failure")

    monkeypatch.setattr(DiffScreen, "action_next_sort", broken)
    async with profiled_diff_app(profiled_diff, tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        await pilot.press("s")
        await pilot.pause()
        notifications = list(pilot.app._notifications)
        await pilot.press("down")
        running = pilot.app.is_running
        screen = pilot.app.screen

    assert running
    assert isinstance(screen, DiffScreen)
    assert any(n.severity == "error" and "forced failure" in n.message for n in notifications)


@synchronous
async def test_large_diff_scrolls(tmp_path):
    sys.path.insert(0, str(BENCH))
    from bench_tui import chain_package

    path_a = chain_package()
    path_b = chain_package(variant=True)
    comparison = compare(load(path_a), load(path_b))
    data = DiffData(comparison, to_json(comparison))
    async with diff_app(data=data, export_dir=tmp_path).run_test(size=SIZE) as pilot:
        await wait_loaded(pilot.app, pilot)
        screen = pilot.app.screen
        await pilot.press("down", "down", "pagedown", "end")
        last = screen.selected_row()
        await pilot.press("c")  # changed pairs only
        changed = len(screen.shown_rows)

    assert len(screen.rows) >= 10_000
    assert last is screen.rows[-1]
    assert 0 < changed < 20
