"""``vidseg train``: train a segmentation teacher on an annotated training set."""

from __future__ import annotations

from pathlib import Path

import click

from vidseg.cli.common import quiet_option
from vidseg.cli.train_options import need_torch, seed_and_threads


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", metavar="DATA")
@click.option("-o", "--output", "output", required=True, metavar="RUN",
              help="Run folder: checkpoint.pt (every epoch), best.pt (best validation IoU), log.json, "
                   "curve.png, and model.onnx + model.json (the best epoch, ready for "
                   "`vidseg segment --model RUN/model.onnx`).")
@click.option("--masks", default=None, metavar="DIR",
              help="Masks for DATA when DATA is a video or a folder of frames: PNGs named like the frames "
                   "(by frame index, 00042.png, for a video, as `vidseg track -o` writes them).")
@click.option("--classes", default="object", show_default=True, metavar="NAME[,NAME...]",
              help="Class names. One name: every object id of the masks is that class. Several: "
                   "object id k is the k-th class (other ids are background).")
@click.option("--size", default="320x240", show_default=True, metavar="WxH",
              help="Network input size (multiples of 16); frames and masks are resized to it.")
@click.option("--gray", is_flag=True, help="Grayscale input (as a monochrome camera gives).")
@click.option("--arch", type=click.Choice(["unet", "deeplab"]), default="unet", show_default=True,
              help="Decoder on the ImageNet EfficientNet-Lite0 backbone: U-Net skips or DeepLab-lite ASPP.")
@click.option("--finetune", is_flag=True,
              help="Also train the backbone (at a tenth of the learning rate): better with enough data and "
                   "time, about 3x slower per step on a CPU. Default: the backbone stays frozen.")
@click.option("--epochs", type=click.IntRange(1), default=15, show_default=True, help="Epochs.")
@click.option("--steps", type=click.IntRange(1), default=40, show_default=True, help="Batches per epoch.")
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True, help="Frames per batch.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Peak learning rate of the decoder (the backbone gets a tenth; AdamW, cosine decay).")
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
              help="Share held out for validation: whole videos when there are 3 or more, else the "
                   "last block of each video (never random frames). A manifest's own split wins.")
@seed_and_threads
@click.option("--resume", is_flag=True,
              help="Continue RUN from its last checkpoint (after an interruption, even kill -9): the "
                   "same result as an uninterrupted run.")
@quiet_option
def train(data: str, output: str, masks: str | None, classes: str, size: str, gray: bool, arch: str, finetune: bool, epochs: int, steps: int,
          batch: int, lr: float, val_fraction: float, seed: int, threads: int, resume: bool, quiet: bool) -> None:
    """Train a teacher segmentation network on DATA.

    DATA is a `vidseg annotate` training-set export (manifest.json + frames/ + masks/), a DAVIS
    or YouTube-VOS layout (JPEGImages/ + Annotations/), frames/ + masks/ (PNG masks named like
    the frames), or a video or folder of frames with --masks. Needs the torch extra: pip install 'vidseg[torch]'.
    """
    from vidseg.cli.fit_progress import FitProgress, best_epoch

    need_torch()
    from vidseg.io.atomic import OutputSpec, check_outputs
    from vidseg.train.dataset import parse_size
    from vidseg.train.loop import FitConfig
    from vidseg.train.trainer import TrainConfig, train_teacher

    check_outputs([OutputSpec("-o", output, "folder")], [data, *([masks] if masks else [])], force=True)
    names = [c.strip() for c in classes.split(",") if c.strip()]
    if not names:
        raise click.BadParameter("give at least one class name", param_hint="--classes")
    cfg = TrainConfig(data, masks, names, parse_size(size), gray, arch, val_fraction, finetune,
                      FitConfig(epochs=epochs, batch=batch, steps_per_epoch=steps, lr=lr, seed=seed, threads=threads))
    show = FitProgress(quiet)
    show.consume(train_teacher(cfg, Path(output), resume=resume, progress=show.stage))
    show.done(Path(output), lambda: best_epoch(Path(output)))
