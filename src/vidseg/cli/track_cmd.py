"""``vidseg track``: follow objects through a video from masks given on some frames."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar, cast

import click
import numpy as np

from vidseg.cli.common import echo, force_option, progress, quiet_option
from vidseg.errors import DecodeError, InputError
from vidseg.io.source import VideoReader
from vidseg.vos.engines import engine_descriptions, engine_names

if TYPE_CHECKING:
    from vidseg.vos.session import Direction

T = TypeVar("T")


def _engine_help() -> str:
    names = "; ".join(f"{name}: {text}" for name, text in engine_descriptions().items())
    return f"The tracking engine. {names}."


def _parse_fps(value: str | None) -> Fraction | None:
    if value is None:
        return None
    try:
        fps = Fraction(value).limit_denominator(100000)
    except (ValueError, ZeroDivisionError) as exc:
        raise click.BadParameter(f"{value!r} is not a frame rate (e.g. 25 or 30000/1001)") from exc
    if fps <= 0:
        raise click.BadParameter("the frame rate must be positive")
    return fps


@click.command("track", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("video", metavar="VIDEO_OR_FRAMES")
@click.option("-m", "--mask", "mask", default=None, metavar="MASK_OR_FOLDER",
              help="The given objects: a palette PNG (pixel = object id; a 0/255 PNG is one object) "
                   "for one frame, or a folder of PNGs named like the frames (YouTube-VOS style), each "
                   "giving the objects on its frame: new ids start there, known ids are corrected.")
@click.option("-o", "--output", "output", required=True, metavar="OUT",
              help="Folder for the result: one DAVIS palette PNG per frame, named after the frame stems "
                   "(file stems for a frame folder, 00000, 00001, ... for a video).")
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
@click.option("-e", "--engine", "-p", "--preset", "engine", type=click.Choice(engine_names()), default="default",
              show_default=True, help=_engine_help())
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
@click.option("--fps", "fps", default=None, metavar="RATE",
              help="Frame rate for a folder of frames (which has none), e.g. 25 or 30000/1001 "
                   "(default 30). Ignored for videos, whose own timestamps are kept.")
@force_option
@quiet_option
def track(video: str, mask: str | None, output: str, boxes: tuple[str, ...], clicks: tuple[str, ...],
          neg_clicks: tuple[str, ...], frame: int | None, engine: str, direction: str, report: str | None,
          overlay: str | None, rle: str | None, mask_video: str | None, per_object: bool, alpha: float,
          show_ids: bool, audio: bool, fps: str | None, force: bool, quiet: bool) -> None:
    """Track the objects given in MASK through VIDEO_OR_FRAMES and write a mask per frame.

    VIDEO_OR_FRAMES is any video PyAV opens (mp4, mkv, webm, mov, avi), a folder of JPEG/PNG frames
    (natural sort order), or a stream URL. Outputs are written under temporary names and appear
    only when complete; existing outputs are kept unless --force is given.

    \b
    Examples:
      vidseg track clip.mp4 -m first.png -o masks --overlay overlay.mp4
      vidseg track frames/ -m prompts/ -o masks --rle masks.json -e fast
      vidseg track clip.mp4 -m mask40.png --frame 40 -o masks --report report.json
      vidseg track clip.mp4 --box 120,80,300,400 --click 2:500,260 -o masks
    """
    from vidseg.io.folder import FolderReader
    from vidseg.io.reader import open_video
    from vidseg.vos import load_prompts
    from vidseg.vos.job import TrackOutputs, track_video

    say = echo(quiet)
    frame_rate = _parse_fps(fps)
    if mask is None and not boxes and not clicks:
        raise click.UsageError("give the objects with -m MASK_OR_FOLDER, --box or --click")
    if mask is not None and (boxes or clicks or neg_clicks):
        raise click.UsageError("-m cannot be combined with --box/--click")
    outputs = TrackOutputs(masks=output, overlay=overlay, rle=rle, mask_video=mask_video, report=report,
                           per_object=per_object, alpha=alpha, show_ids=show_ids, audio=audio, force=force)
    outputs.check()

    def bar(items: Iterator[T], total: int | None, desc: str) -> Iterable[T]:
        return progress(items, total=total, desc=desc, quiet=quiet)

    with open_video(video, fps=frame_rate) as reader:
        info = reader.info
        if mask is not None:
            stems: list[str] | None = [f.stem for f in reader.files] if isinstance(reader, FolderReader) else [
                f"{i:05d}" for i in range(len(reader))]
            if info.frame_count is None:  # a live stream: masks name their frame by number
                stems = None
            prompts = load_prompts(mask, stems, (info.height, info.width), frame=frame,
                                   warn=lambda msg: click.echo(f"vidseg: warning: {msg}", err=True))
        else:
            prompts = _prompts_from_clicks(reader, frame or 0, boxes, clicks, neg_clicks)
        run = track_video(reader, prompts, outputs, engine=engine, direction=cast("Direction", direction),
                          progress=bar)
    say(f"Tracked {len(run.objects)} object(s) over {run.frames} frame(s): masks in {output}"
        + (f", overlay {overlay}" if overlay else "") + (f", RLE {rle}" if rle else "")
        + (f", report {report}" if report else ""))
    for problem in run.report.problems():
        click.echo(f"vidseg: warning: {problem}", err=True)
    broken = run.decode_error
    if broken is not None:
        raise DecodeError(f"{broken.message}; the outputs hold the {run.frames} frames tracked before it",
                          broken.path, frames_done=run.frames)


def _split_id(text: str, default: int, n_values: int, what: str) -> tuple[int, list[int]]:
    obj, _, rest = text.rpartition(":")
    try:
        values = [int(round(float(v))) for v in rest.split(",")]
        obj_id = int(obj) if obj else default
    except ValueError:
        raise click.BadParameter(f"{text!r} is not [ID:]{what}") from None
    if len(values) != n_values:
        raise click.BadParameter(f"{text!r} is not [ID:]{what}")
    return obj_id, values


def _prompts_from_clicks(reader: VideoReader, index: int, boxes: tuple[str, ...], clicks: tuple[str, ...],
                         neg_clicks: tuple[str, ...]) -> dict[int, np.ndarray]:
    """Turn --box/--click options into a label map on frame ``index`` (GrabCut, see vos.interactive)."""
    from vidseg.vos.interactive import labels_from_prompts

    n = len(reader)
    if n and not 0 <= index < n:
        raise InputError(f"--frame {index} is beyond the video's {n} frames", reader.info.path)
    box_map: dict[int, tuple[int, int, int, int]] = {}
    for k, text in enumerate(boxes):
        obj, v = _split_id(text, k + 1, 4, "X0,Y0,X1,Y1")
        box_map[obj] = (v[0], v[1], v[2], v[3])
    click_map: dict[int, list[tuple[int, int]]] = {}
    for text in clicks:
        obj, v = _split_id(text, 1, 2, "X,Y")
        click_map.setdefault(obj, []).append((v[0], v[1]))
    neg_map: dict[int, list[tuple[int, int]]] = {}
    for text in neg_clicks:
        obj, v = _split_id(text, 1, 2, "X,Y")
        neg_map.setdefault(obj, []).append((v[0], v[1]))
    image = reader.read(index).image
    return {index: labels_from_prompts(image, box_map, click_map, neg_map)}
