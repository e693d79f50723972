"""``vidseg train-clicks``: train the click head that ``vidseg annotate`` turns clicks into masks with."""

from __future__ import annotations

import click

from vidseg.cli.head_training import head_options
from vidseg.cli.train_options import need_torch


@click.command("train-clicks", context_settings={"help_option_names": ["-h", "--help"]})
@head_options("click head", iterations=2000, batch=16, lr=1e-3, install_dir="src/vidseg/vos/click_weights")
@click.option("--coco-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of each batch drawn from the --coco images (the rest from the video frames).")
def train_clicks(data: tuple[str, ...], output: str, coco: tuple[str, ...], val: str | None, holdout: str,
                 cache: str | None, iterations: int, batch: int, lr: float, seed: int, threads: int,
                 val_every: int, install: bool, quiet: bool, coco_fraction: float) -> None:
    """Train the click head on DAVIS-layout folders (frames + masks) and COCO images (every
    instance), on the frozen backbone's features (computed once and cached): simulated users click
    on objects and on the errors of masks left by propagation and by the head itself. The head is
    exported to RUN/click/. Needs the torch extra (torch==2.13.0).

    \b
    The shipped click head was made with (`make click-head`):
      vidseg train-clicks ../shared/data/davis2016-train --coco ../shared/data/coco128 \\
          --val ../shared/data/davis2016-dev \\
          --holdout bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino -o runs/clicks --install
    """
    need_torch()
    from vidseg.cli.head_training import HeadRun, run_head_training
    from vidseg.train.click_net import MAPS, ClickHead
    from vidseg.train.click_train import train_clicks as run_training
    from vidseg.train.head_train import HeadTrainConfig
    from vidseg.vos.click_head import shipped_click_dir

    cfg = HeadTrainConfig(davis=list(data), coco=list(coco), val=val, holdout=[s for s in holdout.split(",") if s],
                          iterations=iterations, batch=batch, lr=lr, seed=seed, threads=threads,
                          val_every=val_every, coco_fraction=coco_fraction)
    spec = HeadRun(name="vidseg click head", command="train-clicks", train=run_training, make_net=ClickHead,
                   weights="click.pt", graph="click", maps=MAPS, shipped_dir=shipped_click_dir,
                   scores_label="mean IoU over the first 3 clicks of a simulated user, every 10th frame")
    run_head_training(spec, cfg, output, cache, install, quiet)
