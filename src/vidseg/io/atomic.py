"""Write outputs so that nothing half-written ever looks finished.

Every file is written under a temporary name in the destination folder and renamed into place
when complete (``os.replace`` is atomic on one file system). An existing output is refused unless
``force`` is given.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vidseg.errors import OutputError

TMP_PREFIX = ".vidseg-tmp-"


def check_writable(path: str | Path, *, force: bool = False) -> Path:
    """Check that ``path`` may be written: its folder exists or can be made and is writable, and
    it does not exist yet unless ``force``. Returns the path. Raises :class:`OutputError`."""
    p = Path(path)
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
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it.

    ``suffix`` keeps the extension on the temporary name (encoders pick the container from it);
    by default it is the final path's suffix.
    """
    final = check_writable(path, force=force)
    fd, tmp_name = tempfile.mkstemp(
        prefix=TMP_PREFIX + final.name + ".", suffix=final.suffix if suffix is None else suffix,
        dir=final.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; finished files get the usual mode
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes, *, force: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)


def clean_stale_temporaries(folder: str | Path) -> int:
    """Delete temporaries left in ``folder`` by an interrupted run. Returns how many were removed."""
    n = 0
    d = Path(folder)
    if d.is_dir():
        for f in d.glob(TMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                f.unlink()
                n += 1
    return n


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``, on error it goes.

    An existing non-empty ``path`` is refused unless ``force``; with ``force`` the old folder is
    removed only after the new one is complete.
    """
    import shutil

    final = Path(path)
    if final.exists() and not final.is_dir():
        raise OutputError("exists and is not a folder", final)
    if final.is_dir() and any(final.iterdir()) and not force:
        raise OutputError("folder exists and is not empty (use --force to overwrite)", final)
    parent = final.parent if str(final.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + final.name + ".", dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise OutputError(f"cannot write in folder {parent} ({exc.strerror})", final) from exc
    try:
        yield tmp
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + final.name + ".old.", dir=parent))
            old.rmdir()
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
