"""What docs/ARCHITECTURE.md states about the code, checked: library code raises vidseg.errors
(never a bare ValueError and friends), and each shared job has one implementation."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import vidseg
from vidseg.errors import ArgumentError, FrameIndexError, VidsegError

SRC = Path(vidseg.__file__).parent
BUILTIN_ERRORS = {name for name in dir(__builtins__ if isinstance(__builtins__, dict) else __builtins__)
                  if name.endswith(("Error", "Exception")) or name == "Exception"}
ALLOWED = {("models/backbone/__init__.py", "AttributeError")}  # a module __getattr__ must raise it


def _raised_builtins() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                name = call.id if isinstance(call, ast.Name) else None
                if name in BUILTIN_ERRORS and (rel, name) not in ALLOWED:
                    out.append((rel, node.lineno, name))
    return out


def test_library_code_raises_vidseg_errors_only() -> None:
    assert _raised_builtins() == []


def test_argument_errors_are_vidseg_errors_and_still_value_errors() -> None:
    from vidseg.io import draw_overlay
    from vidseg.synthetic import motion_scene
    from vidseg.vos.classical.flow import FlowEstimator

    for call in (lambda: draw_overlay(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)),
                 lambda: motion_scene("sideways"), lambda: FlowEstimator("warp")):
        with pytest.raises(VidsegError) as info:
            call()
        assert isinstance(info.value, ArgumentError) and isinstance(info.value, ValueError)
    assert issubclass(FrameIndexError, IndexError)


def test_each_shared_job_has_one_implementation() -> None:
    from vidseg.eval import bench, dataset
    from vidseg.io import natsort, palette
    from vidseg.vos import engines

    assert dataset.natural_key is natsort.natural_key
    assert dataset.read_labels is palette.read_mask
    assert not (SRC / "io" / "stale.py").exists()
    assert not hasattr(bench, "engine_names") and not hasattr(bench, "CopyFirstMask")
    assert "copy" in engines.engine_names(baselines=True)
    sources = {p.relative_to(SRC).as_posix(): p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}
    assert [k for k, v in sources.items() if "def natural_key" in v] == ["io/natsort.py"]
    assert [k for k, v in sources.items() if "def clean_stale" in v] == ["io/atomic.py"]
    assert [k for k, v in sources.items() if "class Tracker(Protocol)" in v] == ["vos/stepping.py"]
    # vidseg track's library work is one function the CLI, bench and others share
    assert "track_video" in sources["cli/track_cmd.py"] and "track_video" in sources["eval/bench.py"]
    assert "TrackingSession(" not in sources["cli/track_cmd.py"]
