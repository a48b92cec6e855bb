"""Run the real `mlinspect diff` on a terminal inside tmux, read the screen with capture-pane and quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

# The session fixtures (block_pair, control_flow_model) live in test_tui_models.
pytest_plugins = ("test_tui_models",)


pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"
)

MLINSPECT = Path(sys.executable).with_name("mlinspect")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_for_text(session: str, text: str, timeout: float = 20.0) -> str:
    """Return the pane's text once it contains `text`; fail with the last screen after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear within {timeout} s; the screen was:\n{screen}")


def session_alive(session: str) -> bool:
    return (
        subprocess.run(
            ["tmux", "has-session", "-t", session], check=False, capture_output=True
        ).returncode
        == 0
    )


def test_diff_in_tmux_opens_tui_and_quits(block_pair, tmp_path):
    path_a, path_b = block_pair
    session = f"mlinspect-test-{uuid.uuid4().hex[:8]}"
    # `; sleep 30` keeps the pane open after mlinspect exits, so the exit status stays readable.
    command = f"cd {tmp_path} && {MLINSPECT} diff {path_a} {path_b}; echo exit-status-$?; sleep 30"
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", command)
    try:
        screen = wait_for_text(session, "Findings")
        tmux("send-keys", "-t", session, "c")  # changed pairs only
        changed = wait_for_text(session, "5 of 12 rows")
        tmux("send-keys", "-t", session, "q")
        after_quit = wait_for_text(session, "exit-status-")
    finally:
        if session_alive(session):
            tmux("kill-session", "-t", session)

    assert "block_fp16.mlpackage" in screen
    assert "block_int8.mlpackage" in screen
    assert "12 of 12 rows" in screen
    assert "changed pairs" in changed
    assert "exit-status-0" in after_quit
    assert "Traceback" not in after_quit
