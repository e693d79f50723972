"""Deploy a trained segmentation network: float and int8 TFLite (LiteRT), a TensorFlow Lite
Micro check (every op supported, tensor arena measured), a memory and speed report for a
microcontroller target, and a C array for TFLM / Arduino.

``export_model`` (:mod:`vidseg.export.job`) is the whole ``vidseg export`` run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["export_model"]


def __getattr__(name: str) -> Any:
    if name == "export_model":
        from vidseg.export.job import export_model

        return export_model
    raise AttributeError(name)
