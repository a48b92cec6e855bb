"""Only mlinspect.tui may import Textual: every other module must load without it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import mlinspect


def core_modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(mlinspect.__path__, prefix="mlinspect."):
        # __main__ runs the CLI when imported, and the tui package is the one allowed to load Textual.
        if (
            module.name == "mlinspect.__main__"
            or module.name == "mlinspect.tui"
            or module.name.startswith("mlinspect.tui.")
        ):
            continue
        names.append(module.name)
    return names


def test_core_modules_found():
    names = core_modules()

    assert "mlinspect.cli.main" in names
    assert "mlinspect.comparison.compare" in names
    assert "mlinspect.cli.browse_command" in names


def test_core_modules_do_not_import_textual():
    script = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"textual modules loaded: {result.stdout.strip()}"
