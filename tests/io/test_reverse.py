"""Reading backward in chunks: every frame once, in reverse, without decoding O(n^2) frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.io import open_video
from vidseg.io.container import ContainerReader
from vidseg.io.reverse import frames_backward
from vidseg.synthetic import encode_clip


def _count_decodes(reader: ContainerReader) -> list[int]:
    """Patch ``reader`` so that every decoded frame's index is logged."""
    log: list[int] = []
    convert = reader._to_frame

    def counting(raw, index):  # type: ignore[no-untyped-def]
        log.append(index)
        return convert(raw, index)

    reader._to_frame = counting  # type: ignore[method-assign]
    return log


def _check_backward(path: Path, n: int, gop: int, chunk: int) -> None:
    with open_video(path) as r:
        forward = {f.index: f.image for f in r}
        assert len(forward) == n
        assert isinstance(r, ContainerReader)
        decoded = _count_decodes(r)
        frames = list(frames_backward(r, n - 1, chunk=chunk))
    assert [f.index for f in frames] == list(range(n - 1, -1, -1))
    for f in frames:  # each is the frame the forward pass decoded at that index
        np.testing.assert_array_equal(f.image, forward[f.index])
    # each frame once, plus each chunk's lead-in from the keyframe before it (keyframes come at
    # least every gop frames): reading frame by frame backward would decode far more
    starts = [max(0, end - chunk) for end in range(n, 0, -chunk)]
    assert len(decoded) <= n + sum(s % gop for s in starts)


def test_encoded_clip_backward_in_chunks(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=120, size=(96, 64), gop=40, audio=False)
    _check_backward(v.path, 120, gop=40, chunk=20)


def test_real_footage_encoded_backward(tmp_path, shared_data):
    import cv2

    seq = shared_data / "davis2016-dev" / "JPEGImages" / "480p" / "dance-twirl"
    if not seq.is_dir():
        pytest.skip(f"{seq} is absent")
    files = sorted(seq.glob("*.jpg"))[:48]
    images = [cv2.cvtColor(cv2.resize(cv2.imread(str(f)), (428, 240)), cv2.COLOR_BGR2RGB) for f in files]
    path = tmp_path / "real.mp4"
    encode_clip(images, path, audio=False, gop=12, preset="ultrafast")
    _check_backward(path, len(images), gop=12, chunk=16)


def test_part_of_a_frame_folder(tmp_path, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=7)
    with open_video(folder) as r:
        got = [f.index for f in frames_backward(r, 5, first=2, chunk=3)]
        with pytest.raises(IndexError):
            list(frames_backward(r, 7))
    assert got == [5, 4, 3, 2]


def test_live_stream_cannot_go_backward(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=5, audio=False)
    with ContainerReader(str(v.path), live=True) as r, pytest.raises(InputError, match="live stream"):
        next(frames_backward(r, 3))
