"""Exports: Chrome trace-event JSON, GraphML and DOT, with and without a profile."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from profile_fakes import VIT_FIXTURE, VIT_SAMPLE, fake_profile
from typer.testing import CliRunner

from mlinspect.analysis.ops import analyze
from mlinspect.cli.main import app
from mlinspect.export.chrome_trace import chrome_trace
from mlinspect.export.dot import dot_text, quote
from mlinspect.export.graphml import graphml_graph
from mlinspect.profile import attribute, save_profile
from mlinspect.reader import load

needs_vit_sample = pytest.mark.skipif(
    not VIT_SAMPLE.exists(), reason="samples/vit_tiny_fp16_macos14.mlpackage is missing"
)
runner = CliRunner()


def check_trace_events(trace: Any) -> None:
    """Assert the structure of the Trace Event Format's JSON object form for "X" and "M" events."""
    assert isinstance(trace, dict)
    assert isinstance(trace["traceEvents"], list)
    assert trace.get("displayTimeUnit", "ms") in ("ms", "ns")
    named_threads = set()
    for event in trace["traceEvents"]:
        assert isinstance(event["name"], str) and event["name"]
        assert event["ph"] in ("X", "M")
        assert isinstance(event["pid"], int)
        assert isinstance(event["tid"], int)
        if event["ph"] == "M":
            assert event["name"] in ("process_name", "thread_name", "thread_sort_index")
            assert isinstance(event["args"], dict)
            if event["name"] == "thread_name":
                assert isinstance(event["args"]["name"], str)
                named_threads.add((event["pid"], event["tid"]))
            continue
        assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0
        assert isinstance(event["dur"], (int, float)) and event["dur"] >= 0
        assert isinstance(event.get("cat", ""), str)
        assert isinstance(event.get("args", {}), dict)
    complete = [event for event in trace["traceEvents"] if event["ph"] == "X"]
    assert {(event["pid"], event["tid"]) for event in complete} <= named_threads
    json.dumps(trace, allow_nan=False)


@pytest.fixture(scope="module")
def profiled(plain_package: Path):
    model = load(plain_package)
    analysis = analyze(model)
    profile = fake_profile(plain_package, model)
    return analysis, profile, attribute(profile, analysis)


def test_trace_structure(profiled) -> None:
    analysis, profile, attribution = profiled

    trace = chrome_trace(analysis, profile, attribution)

    check_trace_events(trace)


def test_trace_durations_sum_to_median(profiled) -> None:
    analysis, profile, attribution = profiled

    events = [
        e for e in chrome_trace(analysis, profile, attribution)["traceEvents"] if e["ph"] == "X"
    ]

    assert math.fsum(e["dur"] for e in events) == pytest.approx(attribution.median_ms * 1000)
    for previous, following in itertools.pairwise(events):
        assert following["ts"] == pytest.approx(previous["ts"] + previous["dur"])


def test_trace_one_track_per_device(profiled) -> None:
    analysis, profile, attribution = profiled

    trace = chrome_trace(analysis, profile, attribution)

    threads = {
        e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"
    }
    assert threads == {1: "Neural Engine", 3: "CPU"}
    linear = next(
        e
        for e in trace["traceEvents"]
        if e["ph"] == "X" and e["args"]["op_id"] == "main/lin_cast_fp16"
    )
    assert linear["tid"] == 1
    assert linear["args"]["type"] == "linear"
    assert linear["args"]["estimated_ms"] == attribution.ops["main/lin_cast_fp16"].estimated_ms
    assert "estimated from the compute plan" in trace["otherData"]["estimate"]


def test_trace_events_in_program_order(profiled) -> None:
    analysis, profile, attribution = profiled

    events = [
        e for e in chrome_trace(analysis, profile, attribution)["traceEvents"] if e["ph"] == "X"
    ]

    order = [
        a.op.id
        for a in analysis.ops
        if a.op.id in attribution.ops and attribution.ops[a.op.id].estimated_ms is not None
    ]
    assert [e["args"]["op_id"] for e in events] == order


def test_structure_check_catches_bad_event() -> None:
    bad = {"traceEvents": [{"name": "x", "ph": "X", "pid": 1, "tid": 1, "ts": -1, "dur": 2}]}

    with pytest.raises(AssertionError):
        check_trace_events(bad)


def test_graphml_round_trip(profiled, tmp_path: Path) -> None:
    analysis, _, attribution = profiled
    path = tmp_path / "model.graphml"

    nx.write_graphml(graphml_graph(analysis, attribution), path)
    graph = nx.read_graphml(path, force_multigraph=True)

    model_graph = analysis.model.graph("main")
    assert set(graph.nodes) == set(model_graph.nodes)
    assert graph.number_of_edges() == model_graph.number_of_edges()
    linear = graph.nodes["main/lin_cast_fp16"]
    assert linear["type"] == "linear"
    assert linear["device"] == "neural_engine"
    assert linear["estimated_ms"] == pytest.approx(
        attribution.ops["main/lin_cast_fp16"].estimated_ms
    )
    assert linear["weight_dtype"] == "fp16"
    assert graph.graph["estimate"] == "estimated from the compute plan"


def test_graphml_without_profile_has_no_device(plain_package: Path) -> None:
    graph = graphml_graph(analyze(load(plain_package)))

    assert all("device" not in data for _, data in graph.nodes(data=True))
    assert all(value is not None for _, data in graph.nodes(data=True) for value in data.values())


def test_graphml_multifunction_keeps_functions(multifunction_package: Path) -> None:
    graph = graphml_graph(analyze(load(multifunction_package)))

    assert {data["function"] for _, data in graph.nodes(data=True)} == {"encode", "decode"}


def test_dot_quote_escapes() -> None:
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_dot_structure_and_colours(profiled) -> None:
    analysis, _, attribution = profiled

    text = dot_text(analysis, attribution)

    assert text.startswith("digraph model {")
    assert text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    model_graph = analysis.model.graph("main")
    node_lines = [
        line for line in text.splitlines() if re.match(r'^\s+"main/[^"]+" \[label=', line)
    ]
    edge_lines = [line for line in text.splitlines() if " -> " in line]
    assert len(node_lines) == model_graph.number_of_nodes()
    assert len(edge_lines) == model_graph.number_of_edges()
    linear = next(line for line in node_lines if line.strip().startswith('"main/lin_cast_fp16"'))
    assert 'fillcolor="#ccebc5"' in linear
    assert "Neural Engine" in linear
    assert "ms (est.)" in linear
    assert "cluster_legend" in text


def test_dot_without_profile_plain(plain_package: Path) -> None:
    text = dot_text(analyze(load(plain_package)))

    assert "cluster_legend" not in text
    assert "(est.)" not in text
    assert 'fillcolor="#ccebc5"' not in text


def test_export_chrome_trace_needs_profile(plain_package: Path) -> None:
    result = runner.invoke(app, ["export", str(plain_package), "--format", "chrome-trace"])

    assert result.exit_code == 2
    assert result.stderr.startswith("mlinspect: error: --format chrome-trace needs --profile FILE")


def test_export_cli_writes_files(plain_package: Path, tmp_path: Path) -> None:
    profile_path = tmp_path / "plain.json"
    save_profile(fake_profile(plain_package), profile_path)

    for export_format, name in (
        ("chrome-trace", "trace.json"),
        ("graphml", "model.graphml"),
        ("dot", "model.dot"),
    ):
        output = tmp_path / name
        result = runner.invoke(
            app,
            [
                "export",
                str(plain_package),
                "--format",
                export_format,
                "--profile",
                str(profile_path),
                "-o",
                str(output),
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert output.stat().st_size > 0

    check_trace_events(json.loads((tmp_path / "trace.json").read_text()))
    assert (
        nx.read_graphml(tmp_path / "model.graphml").number_of_nodes()
        == analyze(load(plain_package)).model.graph("main").number_of_nodes()
    )


def test_export_dot_to_stdout(plain_package: Path) -> None:
    result = runner.invoke(app, ["export", str(plain_package), "--format", "dot"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("digraph model {")


@needs_vit_sample
def test_vit_fixture_through_exports(tmp_path: Path) -> None:
    trace = runner.invoke(
        app, ["export", str(VIT_SAMPLE), "--format", "chrome-trace", "--profile", str(VIT_FIXTURE)]
    )
    graphml = tmp_path / "vit.graphml"
    written = runner.invoke(
        app,
        [
            "export",
            str(VIT_SAMPLE),
            "--format",
            "graphml",
            "--profile",
            str(VIT_FIXTURE),
            "-o",
            str(graphml),
        ],
    )
    dot = runner.invoke(
        app,
        [
            "export",
            str(VIT_SAMPLE),
            "--format",
            "dot",
            "--profile",
            str(VIT_FIXTURE),
            "--compute-units",
            "cpu_only",
        ],
    )

    assert trace.exit_code == 0, trace.stderr
    assert written.exit_code == 0, written.stderr
    assert dot.exit_code == 0, dot.stderr
    document = json.loads(trace.stdout)
    check_trace_events(document)
    durations = math.fsum(e["dur"] for e in document["traceEvents"] if e["ph"] == "X")
    assert durations == pytest.approx(412.0)
    devices = {data.get("device") for _, data in nx.read_graphml(graphml).nodes(data=True)}
    assert {"neural_engine", "gpu", "cpu"} <= devices
    assert 'fillcolor="#fed9a6"' in dot.stdout
    assert 'fillcolor="#ccebc5"' not in dot.stdout.split("cluster_legend")[0]
