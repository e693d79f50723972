"""``vidseg bench``: track, score and time every sequence of a DAVIS-layout dataset."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from vidseg.cli.common import force_option, quiet_option, weights_option
from vidseg.vos.engines import check_weights, engine_names


@click.command("bench")
@click.argument("dataset_root", type=click.Path(path_type=Path))
@click.option("--engine", type=click.Choice(engine_names(baselines=True)), default="default", show_default=True,
              help="Tracking engine (each described in `vidseg track --help`) or 'copy' (the first mask "
                   "repeated: the floor any tracker must beat).")
@weights_option
@click.option("--sequences", default=None, metavar="A,B",
              help="Comma-separated sequences (default: every annotated sequence).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write the result masks to OUT/<seq>/ (default: a temporary folder, removed).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write every figure (per sequence, means, DAVIS scores) as JSON to this file.")
@click.option("--markdown", is_flag=True, help="Print the table as markdown (for the README).")
@click.option("--no-isolate", is_flag=True,
              help="Track in this process instead of one child per sequence (peak memory is then "
                   "the runner's high-water mark, not each sequence's).")
@quiet_option
@force_option
def bench(dataset_root: Path, engine: str, weights: str | None, sequences: str | None, out_dir: Path | None,
          json_out: Path | None, markdown: bool, no_isolate: bool, quiet: bool,
          force: bool) -> None:
    """Benchmark a tracker on DATASET_ROOT (JPEGImages/480p/<seq>, Annotations/480p/<seq>).

    Each sequence is tracked from its first-frame masks; prints per sequence J, F, J&F, flicker,
    end-to-end fps (decode, track, write) and peak RSS, and the means.
    """
    from vidseg.eval.bench import dataset_dirs, make_engine_factory, run_benchmark
    from vidseg.eval.dataset import find_sequences
    from vidseg.eval.report import format_bench, write_json
    from vidseg.io.atomic import OutputSpec, check_outputs

    if json_out is not None:
        check_outputs([OutputSpec("--json", json_out)], [dataset_root / "JPEGImages", dataset_root / "Annotations"],
                      force=force)
    if weights is not None:
        check_weights(engine, weights)  # before any sequence is read
    factory = make_engine_factory(engine, weights)
    names = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    total = len(names) if names else len(find_sequences(dataset_dirs(dataset_root)[1]))
    with tqdm(total=total, desc=f"bench {engine}", unit="seq", disable=quiet) as bar:

        def tick(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        result = run_benchmark(dataset_root, engine=engine, sequences=names, out_dir=out_dir,
                               force=force, engine_factory=factory, isolate=not no_isolate,
                               progress=tick)
    click.echo(format_bench(result, markdown=markdown))
    if json_out is not None:
        write_json(result.to_dict(), json_out, force=force)
