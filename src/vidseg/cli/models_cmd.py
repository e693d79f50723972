"""``vidseg models``: list, describe and fetch segmentation models."""

from __future__ import annotations

import json

import click

from vidseg.cli.common import echo, quiet_option


@click.group("models", context_settings={"help_option_names": ["-h", "--help"]})
def models() -> None:
    """Segmentation models: the built-in ones, cards in the cache, and model files.

    Models are kept in the cache folder ($VIDSEG_CACHE, else $XDG_CACHE_HOME/vidseg, else
    ~/.cache/vidseg). A JSON card with `url` and `sha256` dropped in its models/ folder adds a model.
    """


@models.command("list")
def list_cmd() -> None:
    """Show the known models, whether each is in the cache, and where the cache is."""
    from vidseg.models.cache import models_dir
    from vidseg.models.fetch import is_cached
    from vidseg.models.registry import known_models

    rows = []
    for name, card in sorted(known_models().items()):
        here = "cached" if is_cached(card) else "not fetched"
        rows.append((name, card.task, f"{card.width}x{card.height}", here, card.description))
    widths = [max(len(r[i]) for r in rows + [("NAME", "TASK", "INPUT", "STATE", "")]) for i in range(4)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(("NAME", "TASK", "INPUT", "STATE"), widths, strict=True)) + "  DESCRIPTION")
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    click.echo(f"cache: {models_dir()}")


@models.command("info")
@click.argument("model", metavar="NAME|FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the model card as JSON.")
def info_cmd(model: str, as_json: bool) -> None:
    """Describe a model: its card (input, colours, normalisation, labels, outputs, source, licence).

    For a model file without a card beside it, the card is inferred from the file.
    """
    import dataclasses

    from vidseg.models.fetch import cached_path
    from vidseg.models.registry import resolve

    card, path = resolve(model)
    inferred = False
    if card is None:
        assert path is not None
        from vidseg.models.backends import infer_card, load_backend

        card = infer_card(load_backend(path), path)
        inferred = True
    elif path is None:
        card = dataclasses.replace(card, file=str(cached_path(card)))
    if as_json:
        click.echo(json.dumps(card.to_dict(), indent=2))
        return
    d = card.to_dict()
    click.echo(f"{card.name}: {card.description or card.task}" + (" (card inferred from the file)" if inferred else ""))
    for key in ("task", "file", "input_size", "layout", "dtype", "color", "scale", "mean", "std", "resize",
                "output", "output_layout", "threshold", "url", "sha256", "wheel", "member", "licence"):
        if d.get(key) not in (None, ""):
            click.echo(f"  {key:13s} {d[key]}")
    labels = list(card.labels)
    shown = ", ".join(labels[:20]) + (f", ... ({len(labels)} in all)" if len(labels) > 20 else "")
    click.echo(f"  {'labels':13s} {shown}")
    from pathlib import Path

    click.echo(f"  {'present':13s} {'yes' if Path(card.file).is_file() else 'no (vidseg models fetch ' + card.name + ')'}")
    from vidseg.models.fetch import companions

    for role, part in companions(card).items():  # other files the model needs (e.g. a person detector)
        here = "present" if cached_path(part).is_file() else "not fetched"
        click.echo(f"  {role:13s} {cached_path(part)} ({here}; {part.member}, sha256 {part.sha256})")


@models.command("fetch")
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every known model that has a source.")
@quiet_option
def fetch_cmd(names: tuple[str, ...], fetch_all: bool, quiet: bool) -> None:
    """Download models into the cache (verified by SHA-256; interrupted downloads resume)."""
    from tqdm import tqdm

    from vidseg.errors import InputError
    from vidseg.models.fetch import ensure_model
    from vidseg.models.registry import known_models

    say = echo(quiet)
    known = known_models()
    if fetch_all:
        names = tuple(n for n, c in known.items() if c.url or c.wheel)
    if not names:
        raise click.UsageError("name a model (see `vidseg models list`) or give --all")
    for name in names:
        if name not in known:
            raise InputError(f"unknown model {name!r}; known: {', '.join(sorted(known))}")
        bar: tqdm | None = None

        def show(done: int, total: int | None, _name: str = name) -> None:
            nonlocal bar
            if quiet:
                return
            if bar is None:
                bar = tqdm(total=total, desc=_name, unit="B", unit_scale=True)
            bar.n = done
            bar.refresh()

        try:
            path = ensure_model(known[name], progress=show)
        finally:
            if bar is not None:
                bar.close()
        say(f"{name}: {path}")
