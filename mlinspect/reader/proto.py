"""Load coremltools' generated protobuf modules without importing coremltools itself."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import cache
from pathlib import Path

from mlinspect.errors import MlinspectError

# Importing the `coremltools` package takes about 0.6 s on Linux, and 4 to 7 s
# with torch installed (`python -c "import coremltools"`, coremltools 9.0 on a
# 2-core VM). It also prints warnings about its missing native runtime. The
# generated `*_pb2` modules in its `proto` folder only need `google.protobuf`,
# so they are loaded under a private package name that does not run
# `coremltools/__init__.py`. Their descriptors are identical to the ones the
# real package registers later, which protobuf accepts.
_PACKAGE_NAME = "_mlinspect_coremltools_proto"


@cache
def _proto_package() -> str:
    spec = importlib.util.find_spec("coremltools")
    if spec is None or spec.origin is None:
        raise MlinspectError("coremltools is not installed: run `pip install mlinspect` again")

    if _PACKAGE_NAME not in sys.modules:
        package = types.ModuleType(_PACKAGE_NAME)
        package.__path__ = [str(Path(spec.origin).parent / "proto")]
        sys.modules[_PACKAGE_NAME] = package
    return _PACKAGE_NAME


def model_pb2() -> types.ModuleType:
    """Return coremltools' `Model_pb2` module (the `CoreML.Specification.Model` message)."""
    return importlib.import_module(f"{_proto_package()}.Model_pb2")


def mil_pb2() -> types.ModuleType:
    """Return coremltools' `MIL_pb2` module (the ML program messages)."""
    return importlib.import_module(f"{_proto_package()}.MIL_pb2")
