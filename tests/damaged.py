"""Makers of bad input: a PNG whose header claims any size, a file cut short, random bytes over the
middle of a file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def png_claiming(width: int, height: int, *, mode: int = 0) -> bytes:
    """A small PNG whose header says ``width`` x ``height`` (grey 8-bit by default, colour type
    ``mode``) with a few bytes of image data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def cut_short(src: Path, dst: Path, fraction: float) -> Path:
    """``dst``: the first ``fraction`` of ``src``'s bytes (a copy cut off part-way)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def junk_in_middle(src: Path, dst: Path, *, at: float = 0.5, size: int = 2000, seed: int = 1) -> Path:
    """``dst``: ``src`` with ``size`` random bytes written over it from ``at`` of its length (a
    damaged sector): the same length, the container intact, some packets garbage."""
    data = bytearray(src.read_bytes())
    start = int(len(data) * at)
    junk = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    data[start:start + size] = junk[: max(0, min(size, len(data) - start))]
    dst.write_bytes(bytes(data))
    return dst
