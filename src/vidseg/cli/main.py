"""The ``vidseg`` command: a click group whose subcommands live in their own modules.

Exit codes: 0 ok, 1 failure (a one-line ``vidseg: error: ...`` on stderr), 2 usage error,
130 interrupted. Nothing reaches the user as a traceback: an exception vidseg did not expect is
one line with a hint to report it, and ``--debug`` (anywhere on the command line, or
``VIDSEG_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
import traceback

import click

from vidseg import __version__
from vidseg.errors import UsageError, VidsegError

DEBUG_FLAG = "--debug"

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
    "annotate": "vidseg.cli.annotate_cmd:annotate",
    "batch": "vidseg.cli.batch_cmd:batch",
    "train-auto": "vidseg.cli.train_auto_cmd:train_auto",
    "train-clicks": "vidseg.cli.train_clicks_cmd:train_clicks",
    "train": "vidseg.cli.train_cmd:train",
    "distil": "vidseg.cli.distil_cmd:distil",
    "export": "vidseg.cli.export_cmd:export",
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


def _max_pixels(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None:
        from vidseg.io.images import set_max_pixels

        set_max_pixels(value)
    return value


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vidseg")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N", expose_value=False,
              callback=_max_pixels, is_eager=True, envvar="VIDSEG_MAX_PIXELS",
              help="Largest image (width x height) read as a frame or mask; larger ones are refused "
                   "as likely decompression bombs (default 100000000).")
@click.option("--debug", is_flag=True, expose_value=False,
              help="Show the traceback of an unexpected error (also accepted after the command).")
def cli() -> None:
    """vidseg: segment and track objects in video on a CPU, offline, at the speed it plays.

    Run `vidseg COMMAND --help` for each command's options.
    """


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug`` (anywhere before ``--``), and whether it was there."""
    if "--" in argv:
        cut = argv.index("--")
        head, tail = argv[:cut], argv[cut:]
    else:
        head, tail = argv, []
    debug = DEBUG_FLAG in head
    return [a for a in head if a != DEBUG_FLAG] + tail, debug


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to exit codes (0 ok, 1 failure, 2 usage, 130
    interrupted). Every error is one line on stderr; ``--debug`` adds the traceback."""
    args, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    debug = debug or os.environ.get("VIDSEG_DEBUG", "") not in ("", "0")
    from vidseg.io.images import set_max_pixels

    set_max_pixels(None)  # each run starts from the default (or $VIDSEG_MAX_PIXELS)
    try:
        cli.main(args=args, prog_name="vidseg", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("vidseg: interrupted", err=True)
        return 130
    except click.UsageError as exc:  # one line too, with where to look
        ctx = exc.ctx
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"vidseg: error: {exc.format_message()}{where}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"vidseg: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except VidsegError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"vidseg: error: {exc}", err=True)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        click.echo("vidseg: interrupted", err=True)
        return 130
    except BrokenPipeError:  # `vidseg ... | head`: the reader left; nothing more to say
        _silence_stdout()
        return 1
    except Exception as exc:  # noqa: BLE001 - the last resort: no user ever sees a raw traceback
        return _unexpected(exc, debug)
    return 0


def _unexpected(exc: BaseException, debug: bool) -> int:
    """One line for an exception vidseg did not expect (a bug, or the system failing)."""
    if debug:
        traceback.print_exc()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                                                  errno.EPERM, errno.EIO):
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"vidseg: error: {where}{exc.strerror or exc}", err=True)
        return 1
    if isinstance(exc, MemoryError):
        click.echo("vidseg: error: out of memory (try a smaller input or fewer threads)", err=True)
        return 1
    text = " ".join(str(exc).split())[:300] or "(no message)"
    hint = "with the traceback above" if debug else "with the output of the same command run with --debug"
    click.echo(f"vidseg: error: unexpected {type(exc).__name__}: {text} (a bug in vidseg {__version__}: "
               f"please report it, {hint})", err=True)
    return 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
