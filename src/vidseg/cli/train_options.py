"""What every training command (`train`, `distil`, `train-engine`, `train-auto`) shares: the
torch check and the ``--seed`` / ``--threads`` options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def need_torch() -> None:
    """A one-line error naming the extra to install when torch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("training needs torch: pip install 'vidseg[torch]' (torch==2.13.0)") from None


def seed_and_threads(f: F) -> F:
    """``--seed`` (of every random choice) and ``--threads`` (torch's CPU threads)."""
    f = click.option("--threads", type=click.IntRange(1), default=2, show_default=True,
                     help="CPU threads torch uses.")(f)
    return click.option("--seed", type=int, default=0, show_default=True,
                        help="Seed of every random choice.")(f)
