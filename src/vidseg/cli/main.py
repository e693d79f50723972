"""The ``vidseg`` command: a click group whose subcommands live in their own modules.

Exit codes: 0 ok, 1 failure (a one-line ``vidseg: error: ...`` on stderr), 2 usage error.
"""

from __future__ import annotations

import importlib
import sys

import click

from vidseg import __version__
from vidseg.errors import VidsegError

# name -> "module:attribute" of a click.Command; imported only when used, so `vidseg info`
# does not pay for onnxruntime or the tracker.
SUBCOMMANDS: dict[str, str] = {
    "info": "vidseg.cli.info_cmd:info",
    "sample": "vidseg.cli.sample_cmd:sample",
    "track": "vidseg.cli.track_cmd:track",
    "eval": "vidseg.cli.eval_cmd:eval_cmd",
    "bench": "vidseg.cli.bench_cmd:bench",
    "segment": "vidseg.cli.segment_cmd:segment",
    "models": "vidseg.cli.models_cmd:models",
    "train-engine": "vidseg.cli.train_engine_cmd:train_engine",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vidseg")
def cli() -> None:
    """vidseg: segment and track objects in video on a CPU, offline, at the speed it plays.

    Run `vidseg COMMAND --help` for each command's options.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to exit codes (0 ok, 1 failure, 2 usage)."""
    try:
        cli.main(args=argv, prog_name="vidseg", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("vidseg: interrupted", err=True)
        return 130
    except click.ClickException as exc:  # usage errors and friends
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except VidsegError as exc:
        click.echo(f"vidseg: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("vidseg: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
