"""Write outputs so that nothing half-written ever looks finished, and never over an input.

* Every file or folder is written under a temporary name beside its final one and renamed into
  place when complete (``os.replace`` is atomic on one file system): :func:`atomic_path`,
  :func:`atomic_dir`. An existing output is refused unless ``force`` is given.
* A run whose input breaks part-way (a :class:`~vidseg.errors.DecodeError`) keeps what it did
  under a name that says so, never under the final name: ``out/`` becomes ``out.partial/``,
  ``overlay.mp4`` becomes ``overlay.partial.mp4`` (:func:`partial_path`). The paths are added to
  the error's ``partial`` list, so the one error line can say where they are. A later complete
  run removes the stale ``.partial``.
* Temporary names carry the writing process's id (``.vidseg-tmp-<pid>-<name>.<random>``): a
  temporary whose process is gone (a ``kill -9``, a power cut) is removed by the next run that
  writes the same output (:func:`clean_stale_temporaries`), and a temporary of a run still going
  is left alone.
* :func:`check_outputs` checks every output of a run before the first frame: none is or holds an
  input (compared by resolved path and by inode, ``--force`` or not), none collides with another,
  each is of the right kind (a file, a folder), absent or allowed to be replaced, and writable.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vidseg.errors import DecodeError, OutputError, UsageError

TMP_PREFIX = ".vidseg-tmp-"
PARTIAL = ".partial"
_PID = re.compile(r"(\d+)-")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- temporaries ---------------------------------------------------------------------------------
def temp_prefix(name: str, *, pid: int | None = None) -> str:
    """The start of a temporary name for output ``name`` written by process ``pid`` (this one)."""
    return f"{TMP_PREFIX}{os.getpid() if pid is None else pid}-{name}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or cannot tell: leave its files alone
    return True


def _remove(p: Path) -> bool:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    except OSError:
        return False
    return True


def clean_stale_temporaries(folder: str | Path, name: str | None = None, *, prefix: str = TMP_PREFIX) -> int:
    """Remove the temporaries (files and folders) that runs no longer alive left in ``folder``:
    those of output ``name`` only when given (so another output being written there is untouched),
    else all of them. ``prefix`` selects other families of pid-stamped names (``<prefix><pid>-...``).
    Returns how many were removed."""
    d = Path(folder)
    if not d.is_dir():
        return 0
    n = 0
    with contextlib.suppress(OSError):
        for entry in d.iterdir():
            if not entry.name.startswith(prefix):
                continue
            m = _PID.match(entry.name, len(prefix))
            if m is None:
                continue  # not a name this version makes: it may be anybody's
            if name is not None and not entry.name[m.end():].startswith(name + "."):
                continue
            if not _alive(int(m.group(1))) and _remove(entry):
                n += 1
    return n


def make_temp_dir(prefix: str, folder: str | Path | None = None) -> Path:
    """A new pid-stamped temporary folder ``<prefix><pid>-<random>`` in ``folder`` (default: the
    system's), after removing the ones dead processes left there with the same prefix."""
    where = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    clean_stale_temporaries(where, prefix=prefix)
    try:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=where))
    except OSError as exc:
        raise OutputError(f"cannot make a temporary folder ({exc.strerror})", where) from exc


# -- partial results -----------------------------------------------------------------------------
def partial_path(path: str | Path, *, folder: bool = False) -> Path:
    """Where an incomplete output goes: ``out`` -> ``out.partial``, ``overlay.mp4`` ->
    ``overlay.partial.mp4`` (a folder always gets ``.partial`` at the end)."""
    p = Path(path)
    if folder or not p.suffix:
        return p.with_name(p.name + PARTIAL)
    return p.with_name(p.stem + PARTIAL + p.suffix)


def keeps_partial(exc: BaseException | None) -> bool:
    """Whether a run that ends with ``exc`` keeps what it wrote (under ``.partial`` names): only
    when its input broke part-way; any other error or an interruption discards it."""
    return isinstance(exc, DecodeError)


def _note_partial(exc: BaseException | None, where: Path) -> None:
    if isinstance(exc, DecodeError):
        exc.partial.append(str(where))


def _replace_dir(src: Path, final: Path) -> None:
    """Move folder ``src`` to ``final``, replacing whatever is there only once ``src`` is in place."""
    if final.exists() or final.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=temp_prefix(final.name) + "old.", dir=final.parent))
        old.rmdir()
        os.replace(final, old)
        os.replace(src, final)
        _remove(old)
    else:
        os.replace(src, final)


def _drop_stale_partial(final: Path, *, folder: bool) -> None:
    stale = partial_path(final, folder=folder)
    if stale.is_dir() if folder else stale.is_file():
        _remove(stale)


# -- atomic outputs ------------------------------------------------------------------------------
def check_writable(path: str | Path, *, force: bool = False) -> Path:
    """Check that the file ``path`` may be written: it is not a folder, its folder exists or can be
    made and is writable, and it does not exist yet unless ``force``. Returns the path. Raises
    :class:`OutputError`."""
    p = Path(path)
    if p.is_dir():
        raise OutputError("is a folder, not a file name", p)
    if p.exists() and not force:
        raise OutputError("already exists (use --force to overwrite)", p)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {parent} ({exc.strerror})", p) from exc
    if not os.access(parent, os.W_OK):
        raise OutputError(f"folder {parent} is not writable", p)
    return p


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``. On a
    :class:`DecodeError` a non-empty temporary becomes ``partial_path(path)`` (and the error
    lists it); on any other error it is deleted.

    ``suffix`` keeps the extension on the temporary name (encoders pick the container from it);
    by default it is the final path's suffix.
    """
    final = check_writable(path, force=force)
    clean_stale_temporaries(final.parent, final.name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(final.name),
                                        suffix=final.suffix if suffix is None else suffix, dir=final.parent)
    except OSError as exc:
        raise OutputError(f"cannot write in folder {final.parent} ({exc.strerror})", final) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; finished files get the usual mode
    try:
        yield tmp
    except BaseException as exc:
        kept = False
        if keeps_partial(exc) and tmp.is_file() and tmp.stat().st_size > 0:
            with contextlib.suppress(OSError):
                where = partial_path(final)
                os.replace(tmp, where)
                _note_partial(exc, where)
                kept = True
        if not kept:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    try:
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"cannot move the finished file into place ({exc.strerror})", final) from exc
    _drop_stale_partial(final, folder=False)


def write_bytes_atomic(path: str | Path, data: bytes, *, force: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``. On a
    :class:`DecodeError` a non-empty folder becomes ``partial_path(path, folder=True)`` (listed
    in the error); on any other error it goes.

    An existing non-empty ``path`` is refused unless ``force``; with ``force`` the old folder is
    removed only after the new one is complete.
    """
    final = Path(path)
    if final.exists() and not final.is_dir():
        raise OutputError("exists and is not a folder", final)
    if final.is_dir() and any(final.iterdir()) and not force:
        raise OutputError("folder exists and is not empty (use --force to overwrite)", final)
    parent = final.parent if str(final.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(parent, final.name)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(final.name), dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise OutputError(f"cannot write in folder {parent} ({exc.strerror})", final) from exc
    try:
        yield tmp
    except BaseException as exc:
        kept = False
        if keeps_partial(exc) and tmp.is_dir() and any(tmp.iterdir()):
            with contextlib.suppress(OSError):
                where = partial_path(final, folder=True)
                _replace_dir(tmp, where)
                _note_partial(exc, where)
                kept = True
        if not kept:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _replace_dir(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot move the finished folder into place ({exc.strerror})", final) from exc
    _drop_stale_partial(final, folder=True)


# -- checking a run's outputs before it starts ---------------------------------------------------
Kind = Literal["file", "folder"]


@dataclass(frozen=True)
class OutputSpec:
    """One output of a run: the option that names it (for messages), its path as given, and
    whether it is a file or a folder (replaced whole)."""

    option: str
    path: str | Path
    kind: Kind = "file"


@dataclass(frozen=True)
class _Place:
    real: Path
    inode: tuple[int, int] | None


def _place(path: str | Path) -> _Place:
    p = Path(path).expanduser()
    try:
        real = p.resolve()
    except (OSError, RuntimeError):
        real = Path(os.path.abspath(p))
    try:
        st = os.stat(p)
        inode: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:
        inode = None
    return _Place(real, inode)


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _unwritable(path: Path) -> str | None:
    """Why nothing can be written at ``path`` (its nearest existing ancestor is a file or not
    writable), or None."""
    for up in path.parents:
        if up.exists():
            if not up.is_dir():
                return f"cannot create folder {path.parent}: {up} is a file"
            if not os.access(up, os.W_OK | os.X_OK):
                return f"folder {up} is not writable"
            return None
    return None


def check_outputs(outputs: Iterable[OutputSpec], inputs: Iterable[str | Path] = (), *,
                  force: bool = False) -> None:
    """Refuse, before any work, a set of outputs that cannot all be written as asked.

    :class:`UsageError` (exit 2) when an output is one of the ``inputs``, would replace a folder
    holding one, or lies inside an input folder (by resolved path or inode; ``force`` does not
    matter), when two outputs are the
    same path or a file output lies inside a folder output (which is replaced whole), or when a
    file output is named with a trailing ``/``. :class:`OutputError` (exit 1) when an output is of
    the wrong kind (a folder where a file goes, or the reverse), exists without ``force``, or its
    folder cannot be written.
    """
    specs = [o for o in outputs if o.path is not None and str(o.path) != ""]
    ins = [(Path(i), _place(i)) for i in inputs if i is not None and str(i) != "" and Path(i).exists()]
    placed: list[tuple[OutputSpec, _Place]] = []
    for o in specs:
        raw = str(o.path)
        p = Path(raw).expanduser()
        if o.kind == "file" and raw.endswith((os.sep, "/")):
            raise UsageError(f"{o.option} {raw} names a folder (it ends with /); give a file name, "
                             f"e.g. {raw.rstrip('/' + os.sep)}/overlay.mp4")
        for candidate in (p, partial_path(p, folder=o.kind == "folder")):
            where = _place(candidate)
            for given, inp in ins:
                same = where.real == inp.real or (where.inode is not None and where.inode == inp.inode)
                if same or (o.kind == "folder" and _within(inp.real, where.real)):
                    what = "is the input" if same else "holds the input"
                    raise UsageError(f"{o.option} {raw} {what} {given}; vidseg never writes over its "
                                     "input (with --force or without): choose another name")
                if given.is_dir() and _within(where.real, inp.real):
                    raise UsageError(f"{o.option} {raw} lies inside the input folder {given}; vidseg "
                                     "never writes among its inputs: write it elsewhere")
        placed.append((o, _place(p)))
    for i, (a, pa) in enumerate(placed):
        for b, pb in placed[i + 1:]:
            if pa.real == pb.real:
                raise UsageError(f"{a.option} and {b.option} both name {a.path}; give each output its own name")
            for (x, px), (y, py) in (((a, pa), (b, pb)), ((b, pb), (a, pa))):
                if y.kind == "folder" and _within(px.real, py.real):
                    raise UsageError(f"{x.option} {x.path} lies inside the {y.option} folder {y.path}, "
                                     "which is replaced whole; put it elsewhere")
    for o, _ in placed:
        p = Path(str(o.path)).expanduser()
        if o.kind == "file":
            if p.is_dir():
                raise OutputError(f"is a folder; {o.option} needs a file name", p)
            if p.exists() and not force:
                raise OutputError(f"already exists (use --force to overwrite; {o.option})", p)
        else:
            if p.exists() and not p.is_dir():
                raise OutputError(f"exists and is not a folder; {o.option} needs a folder", p)
            if p.is_dir() and any(p.iterdir()) and not force:
                raise OutputError(f"folder exists and is not empty (use --force to overwrite; {o.option})", p)
        why = _unwritable(p.absolute())
        if why is not None:
            raise OutputError(f"{why} ({o.option})", p)


def output_specs(pairs: Sequence[tuple[str, str | Path | None, Kind]]) -> list[OutputSpec]:
    """:class:`OutputSpec` for each ``(option, path or None, kind)`` whose path is given."""
    return [OutputSpec(opt, path, kind) for opt, path, kind in pairs if path is not None]
