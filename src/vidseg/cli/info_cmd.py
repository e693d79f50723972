"""``vidseg info VIDEO``: what a video (or frame folder) holds."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from typing import Any

import click

from vidseg.cli.common import fps_option, progress, quiet_option
from vidseg.errors import DecodeError
from vidseg.io.frames import VideoInfo
from vidseg.io.reader import open_video


def _fps(fps: Fraction | None) -> str:
    if fps is None:
        return "unknown"
    frac = f"{fps.numerator}/{fps.denominator}" if fps.denominator != 1 else str(fps.numerator)
    return f"{frac} ({float(fps):.3f})"


def _as_json(info: VideoInfo) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    for key in ("fps", "time_base"):
        v = data[key]
        data[key] = None if v is None else f"{v.numerator}/{v.denominator}"
    data["fps_float"] = float(info.fps) if info.fps is not None else None
    return data


def describe(info: VideoInfo, pixel_format: str | None = None) -> list[tuple[str, str]]:
    """``(field, value)`` rows describing a source."""
    rows = [("source", info.path), ("kind", info.kind)]
    rows.append(("frames", str(info.frame_count) if info.frame_count is not None else "unknown (live stream)"))
    rows.append(("size", f"{info.width}x{info.height}"))
    if info.kind == "folder":
        if info.fps is not None:
            rows.append(("fps", _fps(info.fps)))
        return rows
    rows.append(("fps", _fps(info.fps) + (" average, variable frame rate" if info.variable_frame_rate else "")))
    rows.append(("duration", f"{info.duration:.3f} s" if info.duration is not None else "unknown"))
    rows.append(("codec", info.codec or "unknown"))
    rows.append(("pixel format", pixel_format or "unknown"))
    if info.time_base is not None:
        rows.append(("time base", str(info.time_base)))
    rows.append(("rotation", f"{info.rotation} deg" if info.rotation else "none"))
    rows.append(("frame rate", "variable (VFR)" if info.variable_frame_rate else "constant"))
    if info.has_audio:
        ch = info.audio_channels
        rows.append(("audio", f"{info.audio_codec}, {info.audio_rate} Hz, {ch} channel{'s' if ch != 1 else ''}"))
    else:
        rows.append(("audio", "none"))
    return rows


@click.command("info", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("video", metavar="VIDEO")
@fps_option("a folder of frames")
@click.option("--check", is_flag=True,
              help="Also decode every frame, to find truncated or corrupt files: exit 1 naming the frame "
                   "where it breaks, or the frames with decode errors (damage the decoder concealed).")
@click.option("--json", "as_json", is_flag=True, help="Print the description as one JSON object.")
@quiet_option
def info(video: str, fps: Fraction | None, check: bool, as_json: bool, quiet: bool) -> None:
    """Print what VIDEO holds: frames, fps, duration, size, codec, pixel format, rotation,
    VFR or not, audio.

    VIDEO is a video file, a folder of frames, or a stream URL / camera device.
    With --check every frame is decoded; a broken or damaged file fails naming the frames.
    """
    with open_video(video, fps=fps) as reader:
        rows = describe(reader.info, getattr(reader, "pixel_format", None))
        expected = getattr(reader, "expected_frames", None)
        ends_early = getattr(reader, "ends_early", None)
        if expected:
            rows.append(("warning", f"the header announces about {expected} frames: the file looks truncated"))
        elif ends_early:
            rows.append(("warning", f"the file ends early ({ends_early}): it looks truncated"))
        if check:
            n = sum(1 for _ in progress(reader, total=reader.info.frame_count, desc="check", quiet=quiet))
            damage = reader.damage_summary()
            if damage is not None:
                raise DecodeError(f"{damage}; {n} frames were read", reader.path, frames_done=n)
            rows.append(("check", f"all {n} frames decode"))
        if as_json:
            data = _as_json(reader.info)
            data["pixel_format"] = getattr(reader, "pixel_format", None)
            data["truncated_header_frames"] = expected
            click.echo(json.dumps(data))
            return
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k + ':':<{width + 1}} {v}")
