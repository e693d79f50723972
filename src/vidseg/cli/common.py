"""Options and helpers shared by the subcommands."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click
from tqdm import tqdm

T = TypeVar("T")

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars or chatter; errors still go to stderr.")
force_option = click.option("--force", is_flag=True, help="Overwrite outputs that already exist.")


def progress(items: Iterable[T], *, total: int | None, desc: str, quiet: bool, unit: str = "frame") -> Iterator[T]:
    """Wrap ``items`` in a progress bar (frames done, fps, ETA) on stderr unless ``quiet``."""
    if quiet:
        yield from items
        return
    bar = tqdm(items, total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True, file=None)
    try:
        yield from bar
    finally:
        bar.close()


def echo(quiet: bool) -> Callable[..., Any]:
    """A ``click.echo`` that says nothing when ``quiet``."""

    def _echo(*args: Any, **kwargs: Any) -> None:
        if not quiet:
            click.echo(*args, **kwargs)

    return _echo
