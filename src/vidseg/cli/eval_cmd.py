"""``vidseg eval``: DAVIS J/F scores, flicker and temporal consistency of a results folder."""

from __future__ import annotations

from pathlib import Path

import click

from vidseg.cli.common import force_option, progress, quiet_option, warn
from vidseg.errors import InputError


def _split_names(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [s.strip() for s in value.split(",") if s.strip()]
    return names or None


@click.command("eval")
@click.option("--gt", "gt", type=click.Path(path_type=Path), default=None,
              help="Annotations: ANNOTATIONS/<seq>/<frame>.png, one folder of PNGs (one sequence), "
                   "or a DAVIS root (its Annotations/480p is used).")
@click.option("--pred", "pred", type=click.Path(path_type=Path), required=True,
              help="Results: RESULTS/<seq>/<frame>.png (palette or grey PNGs, value = object id).")
@click.option("--sequences", default=None, metavar="A,B",
              help="Comma-separated sequences to score (default: every sequence of the ground truth).")
@click.option("--task", type=click.Choice(["semi-supervised", "unsupervised"]),
              default="semi-supervised", show_default=True,
              help="semi-supervised: frames but the first and last, ids are objects; unsupervised: "
                   "all frames, 255 is void, up to 20 proposals matched to objects.")
@click.option("--video", type=click.Path(path_type=Path), default=None,
              help="Frames of the videos (a DAVIS root, FRAMES/<seq>/, or one video file or frame "
                   "folder): also report the ground-truth-free temporal consistency, the IoU of "
                   "each mask warped by optical flow with the next. Works without --gt.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write the scores as JSON (mean, objects, temporal) to this file.")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), default=None,
              help="Write the per-object scores as CSV to this file.")
@click.option("--plot", "plot_out", type=click.Path(path_type=Path), default=None,
              help="Write a per-sequence J/F bar chart (PNG) to this file.")
@click.option("--markdown", is_flag=True, help="Print the tables as markdown.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes scoring sequences in parallel (default: up to 2).")
@quiet_option
@force_option
def eval_cmd(gt: Path | None, pred: Path, sequences: str | None, task: str, video: Path | None,
             json_out: Path | None, csv_out: Path | None, plot_out: Path | None, markdown: bool,
             workers: int | None, quiet: bool, force: bool) -> None:
    """Score segmentation results against DAVIS-style ground truth.

    Prints the standard table (J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay)
    and a per-object table with flicker; the numbers equal the official davis2017-evaluation.
    """
    from vidseg.eval.dataset import frame_mismatches, pair_sequences
    from vidseg.eval.davis import EvalResult, iter_evaluate
    from vidseg.eval.report import (
        format_consistency,
        format_objects,
        format_summary,
        write_csv,
        write_json,
        write_plot,
    )
    from vidseg.eval.temporal import consistency_of_sequences
    from vidseg.io.atomic import check_outputs, output_specs

    if gt is None and video is None:
        raise click.UsageError("give --gt to score against ground truth, or --video for the "
                               "ground-truth-free temporal consistency (or both)")
    if gt is None and (csv_out or plot_out):
        raise click.UsageError("--csv and --plot need --gt")
    check_outputs(output_specs([("--json", json_out, "file"), ("--csv", csv_out, "file"),
                                ("--plot", plot_out, "file")]), [p for p in (gt, pred, video) if p], force=force)
    names = _split_names(sequences)
    pairs = pair_sequences(gt, pred, sequences=names, task=task)
    mismatches = frame_mismatches(pairs)  # said after the scores: a failure stays one line
    result = EvalResult(task, [])
    if gt is not None:
        scored = iter_evaluate(gt, pred, sequences=names, task=task, workers=workers)
        for _, objs in progress(scored, total=len(pairs), desc="scoring", quiet=quiet, unit="seq"):
            result.objects.extend(objs)
    if video is not None:
        seqs = [(p.name, p.pred) for p in pairs]
        for _, cons in progress(consistency_of_sequences(video, seqs), total=len(seqs),
                                desc="consistency", quiet=quiet, unit="seq"):
            result.consistency.update(cons)
        if gt is None and not result.consistency:
            raise InputError("no object found in the results", pred)
    if gt is not None:
        click.echo(format_summary(result, markdown=markdown))
        click.echo()
        click.echo(format_objects(result, markdown=markdown))
    else:
        click.echo(format_consistency(result.consistency, markdown=markdown))
    for problem in mismatches:
        warn(problem)
    if json_out is not None:
        doc = result.to_dict()
        if gt is None:
            doc = {"task": task, "temporal": {k: {"consistency": v}
                                              for k, v in result.consistency.items()}}
        write_json(doc, json_out, force=force)
    if csv_out is not None:
        write_csv(result, csv_out, force=force)
    if plot_out is not None:
        write_plot(result, plot_out, force=force)
