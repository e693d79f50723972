"""``vidseg track``: follow objects through a video from masks given on some frames."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar, cast

import click
import numpy as np

from vidseg.cli.common import (
    broken_run,
    echo,
    force_option,
    fps_option,
    progress,
    quiet_option,
    strict_option,
    warn,
    weights_option,
)
from vidseg.errors import InputError
from vidseg.io.source import VideoReader
from vidseg.vos.engines import check_weights, engine_descriptions, engine_names, make_tracker

if TYPE_CHECKING:
    from vidseg.vos.job import TrackOutputs
    from vidseg.vos.session import Direction

T = TypeVar("T")


def _engine_help() -> str:
    names = "; ".join(f"{name}: {text}" for name, text in engine_descriptions().items())
    return f"The tracking engine. {names}."


@click.command("track", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("video", metavar="VIDEO_OR_FRAMES")
@click.option("-m", "--mask", "mask", default=None, metavar="MASK_OR_FOLDER",
              help="The given objects: a palette PNG (pixel = object id; a 0/255 PNG is one object) "
                   "for one frame, or a folder of PNGs named like the frames (YouTube-VOS style), each "
                   "giving the objects on its frame: new ids start there, known ids are corrected.")
@click.option("-o", "--output", "output", default=None, metavar="OUT",
              help="Folder for the masks: one DAVIS palette PNG per frame, named after the frame stems "
                   "(file stems for a frame folder, 00000, 00001, ... for a video). Give at least one "
                   "of -o, --overlay, --rle, --mask-video or --report.")
@click.option("--box", "boxes", multiple=True, metavar="[ID:]X0,Y0,X1,Y1",
              help="Instead of a mask: a box around an object on frame --frame (pixels); repeat for "
                   "more objects. ID defaults to 1, 2, ... in order.")
@click.option("--click", "clicks", multiple=True, metavar="[ID:]X,Y",
              help="Instead of a mask: a click on an object on frame --frame; repeat to add clicks "
                   "(same ID) or objects (other IDs). Combines with --box for the same ID.")
@click.option("--neg-click", "neg_clicks", multiple=True, metavar="[ID:]X,Y",
              help="A click on background that object ID must not include.")
@click.option("--frame", "frame", type=int, default=None, metavar="N",
              help="Frame index a single MASK, --box or --click belongs to (default 0). Not used with "
                   "a mask folder.")
@click.option("--auto", "auto", type=click.IntRange(1, 255), is_flag=False, flag_value=1, default=None,
              metavar="[N]",
              help="No prompt: find the video's main object by itself and track it (unsupervised "
                   "video object segmentation); --auto N keeps up to N objects, ids by salience. "
                   "Reads key frames from the whole video first (a file or a frame folder). The "
                   "--report JSON adds a confidence per frame and per object; a warning says when "
                   "no object stands out (the masks are then empty).")
@click.option("-e", "--engine", "-p", "--preset", "engine", type=click.Choice(engine_names()), default="default",
              show_default=True, help=_engine_help())
@weights_option
@click.option("--direction", type=click.Choice(["both", "forward", "backward"]), default="both",
              show_default=True,
              help="both: every object on every frame, tracked forward from the frame where it is "
                   "first given and backward from there to the first frame (objects given later only "
                   "fill pixels that objects given earlier leave as background). forward: objects "
                   "only from where they are given (earlier frames empty; the only choice for a live "
                   "stream when objects are given after frame 0). backward: from the last given frame "
                   "down to the first; later frames empty.")
@click.option("--report", "report", default=None, metavar="FILE.json",
              help="Also write the tracking report as JSON: per object the frames where it was given "
                   "and tracked, where it was lost and refound, and where its area jumped. Problems "
                   "are always printed as warnings at the end.")
@click.option("--overlay", "overlay", default=None, metavar="FILE.mp4",
              help="Also write an overlay video (coloured masks and contours) at the source's timestamps, "
                   "with its audio.")
@click.option("--rle", "rle", default=None, metavar="FILE.json",
              help="Also write the masks as COCO RLE JSON (one annotation per object per frame).")
@click.option("--mask-video", "mask_video", default=None, metavar="FILE.mp4",
              help="Also write a video of the label maps in palette colours.")
@click.option("--per-object", is_flag=True,
              help="Also write binary 0/255 PNGs per object under OUT/<id>/<stem>.png.")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Opacity of the coloured masks in the overlay video.")
@click.option("--ids/--no-ids", "show_ids", default=False, show_default=True,
              help="Draw each object's id on the overlay video.")
@click.option("--audio/--no-audio", default=True, show_default=True,
              help="Copy the source's audio into the overlay video.")
@fps_option()
@strict_option
@force_option
@quiet_option
def track(video: str, mask: str | None, output: str | None, boxes: tuple[str, ...], clicks: tuple[str, ...],
          neg_clicks: tuple[str, ...], frame: int | None, auto: int | None, engine: str, weights: str | None,
          direction: str, report: str | None,
          overlay: str | None, rle: str | None, mask_video: str | None, per_object: bool, alpha: float,
          show_ids: bool, audio: bool, fps: Fraction | None, strict: bool, force: bool, quiet: bool) -> None:
    """Track the objects given in MASK through VIDEO_OR_FRAMES and write a mask per frame.

    VIDEO_OR_FRAMES is any video PyAV opens (mp4, mkv, webm, mov, avi), a folder of JPEG/PNG frames
    (natural sort order), or a stream URL. Outputs are written under temporary names and appear
    only when complete; existing outputs are kept unless --force is given; no output may be an
    input. If the video breaks part-way, the frames tracked before are kept under .partial names
    (masks.partial/, overlay.partial.mp4, ...).

    \b
    Examples:
      vidseg track clip.mp4 -m first.png -o masks --overlay overlay.mp4
      vidseg track frames/ -m prompts/ -o masks --rle masks.json -e fast
      vidseg track clip.mp4 -m mask40.png --frame 40 -o masks --report report.json
      vidseg track clip.mp4 --box 120,80,300,400 --click 2:500,260 -o masks
      vidseg track clip.mp4 --auto -o masks --report report.json     # no prompt: the main object
      vidseg track clip.mp4 --auto 2 -o masks                         # up to two objects
    """
    from vidseg.io.reader import open_video
    from vidseg.vos.job import TrackOutputs, track_video
    from vidseg.vos.prompts import load_video_prompts

    say = echo(quiet)
    if auto is not None and (mask is not None or boxes or clicks or neg_clicks or frame is not None):
        raise click.UsageError("--auto finds the objects itself: it cannot be combined with -m, --box, "
                               "--click or --frame")
    if auto is not None and direction != "both":
        raise click.UsageError("--auto tracks both ways from the frame where the object shows best: "
                               "--direction cannot be combined with it")
    if mask is None and not boxes and not clicks and auto is None:
        raise click.UsageError("give the objects with -m MASK_OR_FOLDER, --box or --click, or use --auto")
    if mask is not None and (boxes or clicks or neg_clicks):
        raise click.UsageError("-m cannot be combined with --box/--click")
    if per_object and output is None:
        raise click.UsageError("--per-object writes into the -o folder: give -o too")
    outputs = TrackOutputs(masks=output, overlay=overlay, rle=rle, mask_video=mask_video, report=report,
                           per_object=per_object, alpha=alpha, show_ids=show_ids, audio=audio, force=force)
    if not outputs.any():
        raise click.UsageError("give at least one output: -o, --overlay, --rle, --mask-video or --report")
    inputs = [video] + ([mask] if mask is not None else [])
    outputs.check(inputs)  # every output, before the video is even opened

    def bar(items: Iterator[T], total: int | None, desc: str) -> Iterable[T]:
        return progress(items, total=total, desc=desc, quiet=quiet)

    if auto is not None:
        _track_auto(video, auto, engine, weights, outputs, fps, strict, quiet, output, overlay, rle, mask_video,
                    report)
        return
    tracker = make_tracker(engine, weights=weights)  # weights are checked before the video is read
    with open_video(video, fps=fps, strict=strict) as reader:
        if mask is not None:
            prompts = load_video_prompts(reader, mask, frame=frame, warn=warn)
        else:
            prompts = _prompts_from_clicks(reader, frame or 0, boxes, clicks, neg_clicks)
        run = track_video(reader, prompts, outputs, engine=tracker, direction=cast("Direction", direction),
                          progress=bar, inputs=inputs)
        damage = reader.damage_summary()
    broken = run.decode_error
    if broken is None:
        written = [f"masks in {output}"] if output else []
        written += [f"{k} {v}" for k, v in (("overlay", overlay), ("RLE", rle), ("mask video", mask_video),
                                           ("report", report)) if v]
        say(f"Tracked {len(run.objects)} object(s) over {run.frames} frame(s): " + ", ".join(written))
    if broken is not None:  # a failure is one line: where it broke and where the frames done are
        raise broken_run(broken, run.frames, "tracked")
    for problem in run.report.problems():
        warn(problem)
    if damage is not None:
        warn(f"{video}: {damage}; check the results there (--strict stops at the first one)")


def _track_auto(video: str, n_objects: int, engine: str, weights: str | None, outputs: TrackOutputs,
                fps: Fraction | None,
                strict: bool, quiet: bool, output: str | None, overlay: str | None, rle: str | None,
                mask_video: str | None, report: str | None) -> None:
    """``--auto``: find the main object(s) and track them (see :mod:`vidseg.vos.auto`)."""
    from vidseg.io.reader import open_video
    from vidseg.vos.auto import AutoConfig, auto_track_video

    def bar(items: Iterator[T], total: int | None, desc: str) -> Iterable[T]:
        return progress(items, total=total, desc=desc, quiet=quiet)

    if weights is not None:
        check_weights(engine, weights)  # before the video is read
    with open_video(video, fps=fps, strict=strict) as reader:
        run = auto_track_video(reader, outputs, AutoConfig(objects=n_objects, engine=engine, engine_weights=weights),
                               progress=bar,
                               inputs=[video])
        damage = reader.damage_summary()
    if run.decode_error is not None:
        raise broken_run(run.decode_error, run.frames, "tracked")
    written = [f"masks in {output}"] if output else []
    written += [f"{k} {v}" for k, v in (("overlay", overlay), ("RLE", rle), ("mask video", mask_video),
                                       ("report", report)) if v]
    found = run.report.discovery
    where = f" (found on frame {found.frame})" if found.frame is not None else ""
    echo(quiet)(f"Found and tracked {len(run.objects)} object(s){where} over {run.frames} frame(s): "
                + ", ".join(written))
    for problem in run.report.warnings:
        warn(problem)
    if damage is not None:
        warn(f"{video}: {damage}; check the results there (--strict stops at the first one)")


def _split_id(text: str, default: int, n_values: int, what: str, option: str) -> tuple[int, list[int]]:
    obj, _, rest = text.rpartition(":")
    try:
        values = [int(round(float(v))) for v in rest.split(",")]
        obj_id = int(obj) if obj else default
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{text!r} is not [ID:]{what}", param_hint=option) from None
    if len(values) != n_values:
        raise click.BadParameter(f"{text!r} is not [ID:]{what}", param_hint=option)
    if not 1 <= obj_id <= 255:
        raise click.BadParameter(f"{text!r}: the object id must be 1..255", param_hint=option)
    return obj_id, values


def _prompts_from_clicks(reader: VideoReader, index: int, boxes: tuple[str, ...], clicks: tuple[str, ...],
                         neg_clicks: tuple[str, ...]) -> dict[int, np.ndarray]:
    """Turn --box/--click options into a label map on frame ``index`` (GrabCut, see vos.interactive)."""
    from vidseg.vos.interactive import labels_from_prompts

    n = len(reader)
    if n and not 0 <= index < n:
        raise click.BadParameter(f"{index} is beyond the video's {n} frames (0..{n - 1})", param_hint="--frame")
    w, h = reader.info.width, reader.info.height
    box_map: dict[int, tuple[int, int, int, int]] = {}
    for k, text in enumerate(boxes):
        obj, v = _split_id(text, k + 1, 4, "X0,Y0,X1,Y1", "--box")
        x0, y0, x1, y1 = v
        if min(v) < 0 or x1 > w or y1 > h or x0 >= x1 or y0 >= y1:
            raise click.BadParameter(
                f"{text!r}: a box is X0,Y0,X1,Y1 with 0 <= X0 < X1 <= {w} and 0 <= Y0 < Y1 <= {h} "
                f"(pixels of the {w}x{h} frame)", param_hint="--box")
        if (x1 - x0) * (y1 - y0) >= 0.98 * w * h:
            raise click.BadParameter(f"{text!r} covers the whole {w}x{h} frame, leaving no background to "
                                     "tell the object from: draw the box around the object", param_hint="--box")
        box_map[obj] = (x0, y0, x1, y1)
    click_map: dict[int, list[tuple[int, int]]] = {}
    neg_map: dict[int, list[tuple[int, int]]] = {}
    for option, texts, table in (("--click", clicks, click_map), ("--neg-click", neg_clicks, neg_map)):
        for text in texts:
            obj, v = _split_id(text, 1, 2, "X,Y", option)
            if not (0 <= v[0] < w and 0 <= v[1] < h):
                raise click.BadParameter(f"{text!r} lies outside the {w}x{h} frame", param_hint=option)
            table.setdefault(obj, []).append((v[0], v[1]))
    image = reader.read(index).image
    try:
        return {index: labels_from_prompts(image, box_map, click_map, neg_map)}
    except InputError as exc:  # say which options gave the prompt that failed
        given = " ".join([*(f"--box {b}" for b in boxes), *(f"--click {c}" for c in clicks),
                          *(f"--neg-click {c}" for c in neg_clicks)])
        raise InputError(f"{given} on frame {index}: {exc.message}", reader.info.path) from None
