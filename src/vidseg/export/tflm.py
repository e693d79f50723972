"""Run a model in TensorFlow Lite Micro's own interpreter (PyPI ``tflite-micro``): proof that
every op has a TFLM kernel, the output it gives, and the tensor arena it needs (TFLM's recording
allocator's total, confirmed by the smallest arena it will run in)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np

from vidseg.errors import InputError

_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


@dataclass(frozen=True)
class TflmRun:
    """What TFLM gave: the output tensor, the arena the allocator recorded and the smallest arena
    size (within ``step`` bytes) the model ran in."""

    output: np.ndarray
    arena_recorded: int
    arena_minimum: int


def available() -> bool:
    try:
        from tflite_micro.python.tflite_micro import runtime  # noqa: F401
    except ImportError:
        return False
    return True


def _capture_fd2(fn):  # type: ignore[no-untyped-def]
    """``(fn(), text fn wrote on file descriptor 2)``."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - pybind raises RuntimeError / ValueError
            value = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return value, tmp.read().decode(errors="replace")


def _run(model: bytes, x: np.ndarray, arena: int):  # type: ignore[no-untyped-def]
    from tflite_micro.python.tflite_micro import runtime

    def go():  # type: ignore[no-untyped-def]
        it = runtime.Interpreter.from_bytes(model, arena_size=arena)
        it.set_input(x, 0)
        it.invoke()
        out = it.get_output(0)
        it.print_allocations()
        return out

    return _capture_fd2(go)


def run_tflm(model: bytes, x: np.ndarray, *, max_arena: int = 16 << 20, step: int = 1024) -> TflmRun:
    """Run ``model`` on input ``x`` in TFLM. Raises :class:`InputError` with TFLM's own message when
    it cannot (an op without a TFLM kernel, a tensor type it does not take)."""
    if not available():
        raise InputError("checking a model in TensorFlow Lite Micro needs tflite-micro: pip install 'vidseg[mcu]'")
    out, log = _run(model, x, max_arena)
    if isinstance(out, Exception):
        lines = [ln for ln in log.splitlines() if ln.strip()]
        detail = "; ".join(lines[-3:]) or str(out)
        raise InputError(f"TensorFlow Lite Micro cannot run the model: {detail[:300]}")
    m = _TOTAL.search(log)
    recorded = int(m.group(1)) if m else 0
    lo, hi = 0, recorded + step if recorded else max_arena
    while hi - lo > step:  # the smallest arena that works (TFLM aligns, so a few bytes differ)
        mid = (lo + hi) // 2
        res, _ = _run(model, x, mid)
        if isinstance(res, Exception):
            lo = mid
        else:
            hi = mid
    return TflmRun(np.asarray(out), recorded, hi)
