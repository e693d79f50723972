"""``vidseg sample OUT.mp4``: render the synthetic demo clip with audio and its exact masks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from vidseg.cli.common import echo, force_option, quiet_option
from vidseg.io.atomic import OutputSpec, atomic_dir, atomic_path, check_outputs
from vidseg.io.writers import MaskFolderWriter
from vidseg.synthetic import Scene, demo_scene, write_video

FPS = Fraction(30000, 1001)


def _size(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WxH, e.g. 320x240") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise click.BadParameter(f"{value!r}: width and height must be even and at least 16")
    return w, h


def render_sample(scene: Scene, path: Path, *, audio: bool, masks: MaskFolderWriter | None, quiet: bool) -> None:
    """Encode ``scene`` (H.264, 29.97 fps, 440 Hz tone) to ``path`` and its labels to ``masks``."""
    bar = tqdm(total=scene.n_frames, desc="sample", unit="frame", disable=quiet)

    def on_frame(t: int, labels: np.ndarray) -> None:
        if masks is not None:
            masks.write(f"{t:05d}", labels)
        bar.update(1)

    with bar, atomic_path(path, force=True) as tmp:
        write_video(scene, tmp, fps=FPS, audio=audio, on_frame=on_frame)


@click.command("sample")
@click.argument("out", metavar="OUT.mp4", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--masks", "masks_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the exact ground-truth palette PNGs (default: OUT's name + '_masks').")
@click.option("--frames", "n_frames", type=click.IntRange(min=2), default=90, show_default=True,
              help="Number of frames to render.")
@click.option("--size", "size", default="320x240", show_default=True, callback=_size,
              help="Frame size WxH (even numbers).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the scene's textures and noise.")
@click.option("--no-audio", is_flag=True, help="Leave out the 440 Hz audio track.")
@force_option
@quiet_option
def sample(out: Path, masks_dir: Path | None, n_frames: int, size: tuple[int, int], seed: int,
           no_audio: bool, force: bool, quiet: bool) -> None:
    """Render the synthetic sample clip to OUT.mp4 (29.97 fps, with a 440 Hz tone) and write its
    exact ground-truth masks as DAVIS palette PNGs (00000.png, ...).

    Two objects cross, one passes behind an occluder; use the first mask to try `vidseg track`.
    """
    if out.suffix.lower() not in (".mp4", ".mkv", ".mov"):
        raise click.BadParameter(f"{out}: use a .mp4, .mkv or .mov name", param_hint="OUT.mp4")
    masks_dir = masks_dir if masks_dir is not None else out.with_name(out.stem + "_masks")
    check_outputs([OutputSpec("OUT", out), OutputSpec("--masks", masks_dir, "folder")], force=force)
    scene = demo_scene(size[0], size[1], n_frames, seed=seed)
    # the masks folder is built beside and swapped in whole: no stale masks from a longer run
    with atomic_dir(masks_dir, force=force) as tmp_masks:
        render_sample(scene, out, audio=not no_audio, masks=MaskFolderWriter(tmp_masks, force=True), quiet=quiet)
    say = echo(quiet)
    say(f"video: {out} ({n_frames} frames, {size[0]}x{size[1]}, 29.97 fps{'' if no_audio else ', audio'})")
    say(f"masks: {masks_dir}/ (first frame: {masks_dir / '00000.png'})")
