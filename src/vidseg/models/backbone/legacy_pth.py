"""Read a PyTorch ``state_dict`` file into numpy arrays without importing torch.

Two layouts are understood:

* the legacy (torch < 1.6) stream: a magic number, the protocol version and system information,
  each pickled, then the pickled object whose storages are persistent ids, then the pickled list
  of storage keys, then for each key an int64 element count and the storage's raw bytes;
* the zip archive of torch >= 1.6 (``<root>/data.pkl`` plus one raw file per storage under
  ``<root>/data/``).

Unpickling is restricted: only ``collections.OrderedDict``, torch's tensor rebuild functions and
the typed storage classes resolve, each to a harmless stand-in, so the file cannot run code.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from vidseg.errors import InputError

__all__ = ["read_legacy_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "ComplexFloatStorage": np.dtype("<c8"),
    "ComplexDoubleStorage": np.dtype("<c16"),
    "UntypedStorage": np.dtype("u1"),
}


class _Problem(Exception):
    """Internal: a reason the file cannot be read (turned into :class:`InputError`)."""


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only the element type matters."""

    name: str
    dtype: np.dtype[Any]


@dataclass
class _Storage:
    """A storage named in the pickle; ``data`` is filled in once its bytes have been read."""

    key: str
    dtype: np.dtype[Any]
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _View:
    """A legacy storage view (``view_metadata``): ``size`` elements of ``base`` from ``offset``."""

    base: _Storage
    offset: int
    size: int


@dataclass(frozen=True)
class _LazyTensor:
    """Stand-in for a tensor: materialised once all storages have been read."""

    storage: _Storage | _View
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialise(self) -> np.ndarray:
        src = self.storage
        base, offset = (src.base, src.offset + self.offset) if isinstance(src, _View) else (src, self.offset)
        limit = src.offset + src.size if isinstance(src, _View) else base.numel
        if base.data is None:
            raise _Problem(f"storage {base.key} has no data")
        if len(self.size) != len(self.stride) or any(n < 0 for n in self.size) or offset < 0:
            raise _Problem(f"bad tensor geometry {self.size} / {self.stride}")
        if 0 in self.size:
            return np.zeros(self.size, base.dtype)
        lo = offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True) if s < 0)
        hi = offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True) if s > 0)
        if lo < 0 or hi >= limit:
            raise _Problem(f"tensor reaches outside storage {base.key}")
        if not self.size:  # as_strided cannot make 0-d views
            return np.array(base.data[offset], dtype=base.dtype)
        item = base.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            base.data[offset:], shape=self.size, strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        return np.array(view, order="C")  # an owned, writable copy


def _rebuild_tensor_v2(
    storage: _Storage | _View, storage_offset: int, size: tuple[int, ...], stride: tuple[int, ...],
    requires_grad: bool = False, backward_hooks: object = None, metadata: object = None,
) -> _LazyTensor:
    if not isinstance(storage, _Storage | _View):
        raise _Problem("a tensor without a storage")
    return _LazyTensor(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


def _rebuild_parameter(data: _LazyTensor, requires_grad: bool = False, backward_hooks: object = None) -> _LazyTensor:
    return data


_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    """Resolves only the allowed globals; storages come back as :class:`_Storage` records."""

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage] | None = None) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise _Problem(f"refuses to load {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if self.storages is None or not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise _Problem(f"unexpected persistent id {str(pid)[:60]!r}")
        if len(pid) == 6:  # legacy: (tag, type, key, location, numel, view_metadata)
            _, stype, key, _location, numel, view = pid
        elif len(pid) == 5:  # zip: (tag, type, key, location, numel)
            _, stype, key, _location, numel = pid
            view = None
        else:
            raise _Problem(f"unexpected storage id of length {len(pid)}")
        if not isinstance(stype, _StorageType):
            raise _Problem(f"unsupported storage type {stype!r}")
        storage = self.storages.get(str(key))
        if storage is None:
            storage = self.storages[str(key)] = _Storage(str(key), stype.dtype, int(numel))
        elif storage.dtype != stype.dtype:
            raise _Problem(f"storage {key} is read with two element types")
        if view is None:
            return storage
        _view_key, offset, size = view
        return _View(storage, int(offset), int(size))


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a torch ``state_dict`` file (legacy stream or zip) as ``{name: contiguous array}``.

    Raises :class:`InputError` naming the file when it is not such a file, is truncated, or
    names a class outside the small allowed set.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read torch weights ({exc.strerror or exc})", p) from exc
    try:
        obj = _load_zip(raw) if raw[:4] == b"PK\x03\x04" else _load_legacy(raw)
        return _to_state_dict(obj)
    except InputError:
        raise
    except _Problem as exc:
        raise InputError(f"not a readable torch state_dict: {exc}", p) from exc
    except Exception as exc:  # untrusted bytes: any failure of the parsers means a bad file
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise InputError(f"not a readable torch state_dict ({type(exc).__name__}: {reason})", p) from exc


def _load_legacy(raw: bytes) -> Any:
    f = io.BytesIO(raw)
    header = _Unpickler(f)
    try:
        magic = header.load()
    except _Problem:
        raise
    except Exception as exc:
        raise _Problem("no pickled torch header") from exc
    if magic != LEGACY_MAGIC:
        raise _Problem("wrong magic number (not a legacy torch file)")
    if header.load() != LEGACY_PROTOCOL:
        raise _Problem("unsupported legacy protocol version")
    sys_info = header.load()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise _Problem("big-endian or missing system information")
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(f, storages).load()
    keys = _Unpickler(f).load()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _Problem("bad storage key list")
    buf = memoryview(raw)
    pos = f.tell()
    for key in keys:
        if key not in storages:
            raise _Problem(f"storage {key} is not used by any tensor")
        s = storages[key]
        if pos + 8 > len(raw):
            raise _Problem(f"truncated before storage {key}")
        (numel,) = struct.unpack_from("<q", raw, pos)
        nbytes = numel * s.dtype.itemsize
        if numel != s.numel or pos + 8 + nbytes > len(raw):
            raise _Problem(f"storage {key} is truncated or has the wrong size")
        s.data = np.frombuffer(buf[pos + 8: pos + 8 + nbytes], dtype=s.dtype)
        pos += 8 + nbytes
    return obj


def _load_zip(raw: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise _Problem("zip archive without one <root>/data.pkl")
        root = pkl[0][: -len("data.pkl")]
        if root + "byteorder" in names and zf.read(root + "byteorder").strip() != b"little":
            raise _Problem("big-endian archive")
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(io.BytesIO(zf.read(pkl[0])), storages).load()
        for key, s in storages.items():
            data = zf.read(f"{root}data/{key}")
            if len(data) < s.numel * s.dtype.itemsize:
                raise _Problem(f"storage {key} is truncated")
            s.data = np.frombuffer(data, dtype=s.dtype, count=s.numel)
    return obj


def _to_state_dict(obj: Any) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict):
        raise _Problem(f"holds a {type(obj).__name__}, not a state_dict")
    out: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _LazyTensor):
            raise _Problem(f"entry {str(name)[:60]!r} is not a tensor")
        out[name] = value.materialise()
    return out
