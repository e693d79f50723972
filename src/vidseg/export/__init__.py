"""Deploy a trained segmentation network: ONNX, float and int8 TFLite (LiteRT), a TensorFlow Lite
Micro check (every op supported, tensor arena measured), a memory and speed report for a
microcontroller target, and a C array for TFLM / Arduino.

``export_model`` (:mod:`vidseg.export.job`) is the whole ``vidseg export`` run.
"""

from vidseg.export.card import model_card, write_card

__all__ = ["export_model", "model_card", "write_card"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "export_model":
        from vidseg.export.job import export_model

        return export_model
    raise AttributeError(name)
