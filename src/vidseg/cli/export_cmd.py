"""``vidseg export``: ONNX, TFLite or int8 TFLite for a microcontroller, checked in TFLM."""

from __future__ import annotations

import click

from vidseg.cli.common import echo, force_option, quiet_option


@click.command("export", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", metavar="MODEL")
@click.option("--format", "fmt", type=click.Choice(["onnx", "tflite", "tflite-int8"]), default="tflite-int8",
              show_default=True,
              help="onnx; tflite (float32); tflite-int8 (full-integer: int8 weights, activations, input "
                   "and output, calibrated on --calib).")
@click.option("--calib", "calib", multiple=True, metavar="FRAMES",
              help="Calibration frames for int8, repeatable: a video, a folder of frames or a training "
                   "set (up to 128 frames spread over them are used). Like what the camera will see.")
@click.option("--val", "val", multiple=True, metavar="DATA",
              help="A training set with masks to compare int8 with float on (IoU of each and their ratio); "
                   "default: the calibration frames (their ground truth if they have masks, else agreement).")
@click.option("--target", type=click.Choice(["portenta-h7", "generic"]), default="portenta-h7", show_default=True,
              help="Board whose memory the model must fit: portenta-h7 (2 MB flash, ~512 KB tensor arena "
                   "budget, Cortex-M7 480 MHz) or generic (no limits).")
@click.option("-o", "--output", "output", required=True, metavar="OUT",
              help="Output folder: the model (model.onnx / model.tflite / model_int8.tflite) with its card, "
                   "labels.txt (OpenMV), model_data.cc/.h (TFLM / Arduino), report.json and report.md.")
@force_option
@quiet_option
def export(model: str, fmt: str, calib: tuple[str, ...], val: tuple[str, ...], target: str, output: str,
           force: bool, quiet: bool) -> None:
    """Export MODEL for deployment and check it on the microcontroller's own interpreter.

    MODEL is a `vidseg train` / `vidseg distil` run folder (or its best.pt / model.onnx, whose
    checkpoint is beside it), or a .tflite with its card: a float one is quantised to int8
    without torch. The int8 model runs in TensorFlow Lite Micro's interpreter (tflite-micro) to
    prove every op is supported and to measure its tensor arena; the report gives flash bytes,
    arena bytes, MACs, ops, the estimated Cortex-M7 latency and whether it fits the target.
    Exits 1 (after writing everything) when it does not fit.
    """
    from vidseg.export.job import export_model
    from vidseg.io.atomic import OutputSpec, check_outputs

    check_outputs([OutputSpec("-o", output, "folder")], [model, *calib, *val], force=force)
    say = echo(quiet)
    report = export_model(model, fmt, output, calib=list(calib), val=list(val), target=target, force=force,
                          progress=lambda m: say(m, err=True))
    if fmt == "onnx":
        say(f"Wrote {output}/model.onnx ({report['flash_bytes']} bytes) and its card")
        return
    parts = [f"flash {report['flash_bytes'] / 1024:.1f} KB"]
    if report.get("arena_bytes"):
        parts.append(f"arena {report['arena_bytes'] / 1024:.1f} KB (TFLM)")
    parts.append(f"{report['macs'] / 1e6:.1f} M MACs, ~{report['latency_ms']:.0f} ms on a {report['target']['core']} "
                 f"@ {report['target']['mhz']} MHz")
    if "comparison" in report and "ratio" in report["comparison"]:
        c = report["comparison"]
        parts.append(f"IoU int8 {c['int8_iou']:.3f} / float {c['float_iou']:.3f} = {c['ratio']:.3f}")
    parts.append(f"fits {target}: {report['fits']}")
    say(f"Wrote {output}: " + "; ".join(parts) + f". Report: {output}/report.md")
