"""``vidseg distil``: a microcontroller-sized student from a teacher's soft labels."""

from __future__ import annotations

from pathlib import Path

import click

from vidseg.cli.common import quiet_option
from vidseg.cli.train_options import need_torch, seed_and_threads


@click.command("distil", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--teacher", required=True, metavar="MODEL",
              help="The teacher: a `vidseg train` model.onnx, a built-in model (person) or any model "
                   "`vidseg segment` runs (ONNX / TFLite with a card). It runs on ONNX Runtime / LiteRT.")
@click.option("--data", "data", required=True, multiple=True, metavar="FRAMES_OR_VIDEO",
              help="Frames to learn from, repeatable: a video, a folder of frames, or a training set "
                   "(any `vidseg train` layout; its masks are used as ground truth where present).")
@click.option("-o", "--output", "output", required=True, metavar="RUN",
              help="Run folder: teacher_labels.npy (the teacher's soft labels), checkpoints, log.json, "
                   "curve.png, model.onnx + model.json.")
@click.option("--arch", type=click.Choice(["tiny", "small"]), default="tiny", show_default=True,
              help="Student width: tiny (~14 k weights) or small (~25 k).")
@click.option("--rgb", is_flag=True, help="Colour input (default: grayscale, as the Portenta's camera).")
@click.option("--half-res", is_flag=True, help="Output the probability map at half resolution (less RAM).")
@click.option("--size", default="320x240", show_default=True, metavar="WxH", help="Input size (multiples of 16).")
@click.option("--gt-weight", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Weight of the ground truth against the teacher's labels on frames with a mask.")
@click.option("--every", type=click.IntRange(1), default=1, show_default=True, help="Use every N-th frame.")
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True, help="Epochs.")
@click.option("--steps", type=click.IntRange(1), default=50, show_default=True, help="Batches per epoch.")
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True, help="Frames per batch.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-2, show_default=True,
              help="Peak learning rate (AdamW, cosine decay).")
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
              help="Held out for validation (whole videos, or each video's last block); 0 trains on all "
                   "frames and validates on them.")
@seed_and_threads
@click.option("--resume", is_flag=True, help="Continue RUN from its last checkpoint (teacher labels are reused).")
@quiet_option
def distil(teacher: str, data: tuple[str, ...], output: str, arch: str, rgb: bool, half_res: bool, size: str,
           gt_weight: float, every: int, epochs: int, steps: int, batch: int, lr: float, val_fraction: float,
           seed: int, threads: int, resume: bool, quiet: bool) -> None:
    """Distil a teacher into a student small enough for a microcontroller (see `vidseg export`).

    The teacher labels every frame given, annotated or not, with soft probabilities; the student
    (depthwise-separable convolutions, sigmoid output) learns from them and from ground truth
    where there is some. Needs the torch extra: pip install 'vidseg[torch]'.
    """
    from vidseg.cli.fit_progress import FitProgress, best_epoch

    need_torch()
    from vidseg.io.atomic import OutputSpec, check_outputs
    from vidseg.train.dataset import parse_size
    from vidseg.train.distil import DistilConfig
    from vidseg.train.distil import distil as run_distil
    from vidseg.train.loop import FitConfig

    check_outputs([OutputSpec("-o", output, "folder")], list(data), force=True)
    cfg = DistilConfig(teacher, list(data), arch, not rgb, "half" if half_res else "full", parse_size(size),
                       gt_weight, val_fraction, every,
                       FitConfig(epochs=epochs, batch=batch, steps_per_epoch=steps, lr=lr, seed=seed, threads=threads))
    show = FitProgress(quiet)
    show.consume(run_distil(cfg, Path(output), resume=resume, progress=show.stage))
    show.done(Path(output), lambda: best_epoch(Path(output)))
