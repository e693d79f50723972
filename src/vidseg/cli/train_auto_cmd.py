"""``vidseg train-auto``: train the primary-object head that ``vidseg track --auto`` uses."""

from __future__ import annotations

import click

from vidseg.cli.head_training import head_options
from vidseg.cli.train_options import need_torch


@click.command("train-auto", context_settings={"help_option_names": ["-h", "--help"]})
@head_options("head", iterations=1500, batch=16, lr=1e-3, install_dir="src/vidseg/vos/auto/weights")
def train_auto(data: tuple[str, ...], output: str, coco: tuple[str, ...], val: str | None, holdout: str,
               cache: str | None, iterations: int, batch: int, lr: float, seed: int, threads: int,
               val_every: int, install: bool, quiet: bool) -> None:
    """Train the primary-object head on DAVIS-layout folders (frames + a mask of the main object
    on every frame) and COCO images (the largest instance), on the frozen backbone's features
    (computed once and cached). The head is exported to RUN/head/. Needs the torch extra
    (torch==2.13.0).

    \b
    The shipped head was made with (`make auto-head`):
      vidseg train-auto ../shared/data/davis2016-train --coco ../shared/data/coco128 \\
          --val ../shared/data/davis2016-dev \\
          --holdout bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino -o runs/auto --install
    """
    need_torch()
    from vidseg.cli.head_training import HeadRun, run_head_training
    from vidseg.train.auto_net import SaliencyHead
    from vidseg.train.auto_train import train_auto as run_training
    from vidseg.train.head_train import HeadTrainConfig
    from vidseg.vos.auto.head import shipped_head_dir

    cfg = HeadTrainConfig(davis=list(data), coco=list(coco), val=val, holdout=[s for s in holdout.split(",") if s],
                          iterations=iterations, batch=batch, lr=lr, seed=seed, threads=threads,
                          val_every=val_every)
    spec = HeadRun(name="vidseg primary-object head", command="train-auto", train=run_training,
                   make_net=SaliencyHead, weights="head.pt", graph="head", maps=0,
                   shipped_dir=shipped_head_dir,
                   scores_label="IoU per frame of the head alone, probability > 0.5")
    run_head_training(spec, cfg, output, cache, install, quiet)
