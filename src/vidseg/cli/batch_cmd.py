"""``vidseg batch``: run ``track`` or ``segment`` over many videos, on every local core or on a Ray
cluster, resumably."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from vidseg.batch.inputs import PATH_OPTIONS
from vidseg.cli.common import (
    echo,
    force_option,
    fps_option,
    quiet_option,
    strict_option,
    weights_option_with,
)
from vidseg.errors import InputError
from vidseg.vos.engines import engine_names

# command-line parameter -> (job option, the jobs it applies to)
JOB_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "engine": ("engine", ("track",)), "weights": ("weights", ("track",)), "direction": ("direction", ("track",)), "frame": ("frame", ("track",)),
    "mask_video": ("mask_video", ("track",)), "model": ("model", ("segment",)),
    "classes": ("classes", ("segment",)), "upsample": ("upsample", ("segment",)),
    "smooth": ("smooth", ("segment",)), "threshold": ("threshold", ("segment",)), "soft": ("soft", ("segment",)),
    "overlay": ("overlay", ("track", "segment")), "rle": ("rle", ("track", "segment")),
    "alpha": ("alpha", ("track", "segment")), "audio": ("audio", ("track", "segment")),
    "fps": ("fps", ("track", "segment")), "strict": ("strict", ("track", "segment")),
}


@click.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("job", type=click.Choice(["track", "segment"]))
@click.argument("inputs", required=False, metavar="INPUTS")
@click.option("-o", "--output", "out", required=True, metavar="OUT",
              help="Folder for the results: OUT/<name>/ per video (masks/, report.json for track, and "
                   "overlay.mp4, masks.json, ... as asked), the state file OUT/batch-state.sqlite.")
@click.option("--prompts", default=None, metavar="DIR",
              help="track, on a folder of videos: the first-frame masks as DIR/<name>.png (or "
                   "DIR/<name>/, PNGs named like the frames). Default: a <name>.png beside each video. "
                   "DAVIS and YouTube-VOS folders and manifests bring their own.")
@click.option("-e", "--engine", type=click.Choice(engine_names()), default=None,
              help="track: the tracking engine (default: default); see `vidseg track --help`.")
@weights_option_with("track: a learned engine's trained weights instead of the shipped ones (`vidseg "
                     "train-engine -o RUN` exports RUN/engine; checked against its card before any video "
                     "starts). A manifest's weights column sets them per video.")
@click.option("--direction", type=click.Choice(["both", "forward", "backward"]), default=None,
              help="track: which way to track from the given frames (default: both).")
@click.option("--frame", type=click.IntRange(min=0), default=None, metavar="N",
              help="track: the frame a single prompt PNG belongs to (default 0).")
@click.option("--mask-video/--no-mask-video", default=None,
              help="track: also write mask-video.mp4 (the label maps as video).")
@click.option("--model", default=None, metavar="NAME|FILE",
              help="segment: the model (default: person); see `vidseg models list`.")
@click.option("--classes", default=None, metavar="A,B", help="segment: keep only these classes.")
@click.option("--upsample", type=click.Choice(["nearest", "bilinear"]), default=None,
              help="segment: how labels reach full resolution (default: nearest).")
@click.option("--smooth/--no-smooth", default=None, help="segment: smooth over time along optical flow.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="segment: foreground probability threshold of single-class models.")
@click.option("--soft/--no-soft", default=None, help="segment: also write soft/ (probability PNGs).")
@click.option("--overlay/--no-overlay", default=None,
              help="Also write overlay.mp4 (coloured masks at the source's timestamps, with its audio).")
@click.option("--rle/--no-rle", default=None, help="Also write masks.json (COCO RLE).")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=None, help="Overlay opacity (default 0.5).")
@click.option("--audio/--no-audio", default=None, help="Copy the source's audio into overlays (default: yes).")
@fps_option("frame folders")
@strict_option
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Videos at a time: worker processes (default: one per core), or with --ray the actors "
                   "(default: as many as the cluster's CPUs allow).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Run on Ray (the `ray` extra): --ray alone starts a local Ray instance; --ray auto or "
                   "--ray HOST:PORT joins a running cluster (`ray start --head`). Put it after INPUTS.")
@click.option("--cpus-per-video", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="With --ray: the CPUs each video's actor declares.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Automatic retries of a video whose worker died or crashed (a corrupt input is not "
                   "retried; re-running the command retries failed videos).")
@click.option("--resume", is_flag=True,
              help="Continue the batch in OUT with the inputs and options it was started with (INPUTS "
                   "and job options may be left out). Re-running the same command resumes too.")
@force_option
@click.option("--json", "json_path", default=None, metavar="SUMMARY.json",
              help="Also write the summary (per video: status, frames, fps, error; totals, overheads) as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="A progress bar per running video too.")
@quiet_option
@click.pass_context
def batch(ctx: click.Context, job: str, inputs: str | None, out: str, prompts: str | None, workers: int | None,
          ray_address: str | None, cpus_per_video: float, retries: int, resume: bool, force: bool,
          json_path: str | None, verbose: bool, quiet: bool, **options: Any) -> None:
    """Run JOB (track or segment) on every video of INPUTS, writing OUT/<name>/ per video.

    INPUTS is a folder of videos and frame folders, a DAVIS folder (JPEGImages/480p/<seq>, the first
    mask Annotations/480p/<seq>/00000.png is the prompt), a YouTube-VOS folder (JPEGImages/<vid>,
    masks Annotations/<vid>/), or a manifest: CSV with a header, or JSON lines, with the columns
    input, prompt, name and any job option (engine, model, overlay, fps, ...) per video; relative
    paths count from the manifest's folder.

    Each video's outputs appear whole or not at all. OUT/batch-state.sqlite records every video
    (pending, running, done, failed): running the command again skips the videos done (their
    outputs checked) and retries the failed ones; a killed run loses nothing done. Exit 1 if any
    video failed (the summary says why), 0 when all are done.

    \b
    Examples:
      vidseg batch track DAVIS -o out --engine fast
      vidseg batch track videos/ --prompts masks/ -o out --overlay --workers 2
      vidseg batch segment videos/ -o out --model person --overlay
      vidseg batch track manifest.csv -o out --ray auto
    """
    from vidseg.batch.inputs import discover
    from vidseg.batch.jobs import get_job
    from vidseg.batch.local import LocalPool, default_workers
    from vidseg.batch.runner import run_batch, settings_record
    from vidseg.batch.state import read_settings
    from vidseg.batch.summary import table, write_json
    from vidseg.io.atomic import OutputSpec, check_outputs

    say = echo(quiet)
    given = _given(job, options)
    out_path = Path(out).expanduser().absolute()
    if resume:
        recorded = read_settings(out_path)
        if recorded is None:
            raise click.UsageError(f"--resume: {out} holds no batch to continue")
        if recorded.get("job") != job:
            raise click.UsageError(f"--resume: the batch in {out} ran {recorded.get('job')}, not {job}")
        if given:
            raise click.UsageError("--resume continues the batch with the options it was started with; "
                                   f"leave out {', '.join('--' + k.replace('_', '-') for k in given)}")
        if inputs is not None and str(Path(inputs).expanduser().absolute()) != recorded.get("inputs"):
            raise click.UsageError(f"--resume: the batch in {out} ran on {recorded.get('inputs')}, not {inputs}")
        inputs, given, prompts = recorded["inputs"], dict(recorded.get("options") or {}), recorded.get("prompts")
    if inputs is None:
        raise click.UsageError("give INPUTS (a folder, a DAVIS folder or a manifest), or --resume")
    the_job = get_job(job)
    try:
        base = the_job.settings(given)
    except InputError as exc:
        raise click.UsageError(exc.message) from None
    the_job.check_settings(base)  # damaged weights: exit 1 naming the file, before any video starts
    inputs_abs = str(Path(inputs).expanduser().absolute())
    prompts_abs = str(Path(prompts).expanduser().absolute()) if prompts else None
    items = discover(inputs_abs, prompts=prompts_abs, option_names=list(the_job.options))
    check_outputs([OutputSpec("-o", out_path, "folder")], [inputs_abs, *(i.input for i in items)], force=True)
    if json_path is not None:
        check_outputs([OutputSpec("--json", json_path, "file")], [inputs_abs], force=True)
    if ray_address is not None:
        from vidseg.batch.ray_runner import LOCAL, RayPool

        backend: Any = RayPool(job, base, out_path, address=ray_address,
                               workers=workers or (default_workers() if ray_address == LOCAL else None),
                               cpus_per_video=cpus_per_video, verbose=verbose)
    else:
        backend = LocalPool(job, base, out_path, workers or default_workers(), verbose=verbose)

    def bar(total: int, initial: int) -> Any:
        return tqdm(total=total, initial=initial, desc=f"batch {job}", unit="video", dynamic_ncols=True,
                    position=0)

    record = settings_record(job, given, inputs_abs, prompts_abs)
    report = run_batch(job, items, out_path, backend, given=given, record=record, retries=retries, force=force,
                       bar=None if quiet else bar)
    say(table(report))
    if json_path is not None:
        write_json(report, json_path)
    failed = report.failed
    if failed:
        first = failed[0]
        raise InputError(f"{len(failed)} of {len(report.rows)} video(s) failed, first {first.name}: {first.error} "
                         f"(state in {out_path / 'batch-state.sqlite'})")


def _given(job: str, options: dict[str, Any]) -> dict[str, Any]:
    """The job options given on the command line (as the job parses them); a usage error for one
    that does not apply to ``job``."""
    given: dict[str, Any] = {}
    for param, value in options.items():
        key, jobs = JOB_OPTIONS[param]
        if value is None or (param == "strict" and not value):
            continue
        if job not in jobs:
            flag = "--" + param.replace("_", "-")
            raise click.UsageError(f"{flag} applies to `vidseg batch {' / '.join(jobs)}`, not {job}")
        if key in PATH_OPTIONS:  # workers (on other machines too) and --resume get the same folder
            value = str(Path(value).expanduser().absolute())
        given[key] = str(value) if isinstance(value, Fraction) else value
    return given
