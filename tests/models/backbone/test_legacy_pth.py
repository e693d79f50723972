"""The numpy reader of torch state_dict files (legacy stream and zip) against torch itself."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.backbone import backbone_weights_path, read_legacy_state_dict
from vidseg.models.backbone.legacy_pth import LEGACY_MAGIC, LEGACY_PROTOCOL


def _assert_same(ours: dict[str, np.ndarray], theirs: dict[str, object]) -> None:
    assert list(ours) == list(theirs)
    for name, t in theirs.items():
        ref = t.numpy()  # type: ignore[attr-defined]
        got = ours[name]
        assert got.dtype == ref.dtype, name
        assert got.shape == ref.shape, name
        assert got.flags.c_contiguous and got.flags.writeable, name
        assert got.tobytes() == np.ascontiguousarray(ref).tobytes(), name  # bit for bit


def test_pretrained_weights_equal_torch_load() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed: nothing to compare with")
    path = backbone_weights_path()
    theirs = torch.load(path, weights_only=False, map_location="cpu")
    ours = read_legacy_state_dict(path)
    assert len(ours) == 296
    _assert_same(ours, theirs)
    # the file stores convolutions in TensorFlow order (non-contiguous strides): check we honour them
    assert not theirs["_conv_stem.weight"].is_contiguous()
    assert ours["_bn0.num_batches_tracked"].dtype == np.int64
    assert ours["_bn0.num_batches_tracked"].shape == ()


@pytest.mark.parametrize("zipped", [False, True], ids=["legacy", "zip"])
def test_torch_saved_files_round_trip(tmp_path: Path, zipped: bool) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed: cannot write .pth files")
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=g)
    state = {
        "transposed": base.t(),  # non-contiguous
        "row_view": base[2:4],  # shares base's storage, with an offset
        "strided": base[:, 1::2],
        "scalar": torch.tensor(7, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
        "half": torch.randn(4, generator=g).half(),
        "double": torch.randn(3, 2, generator=g).double(),
        "int32": torch.arange(-3, 3, dtype=torch.int32),
        "int16": torch.arange(-3, 3, dtype=torch.int16),
        "int8": torch.arange(-3, 3, dtype=torch.int8),
        "uint8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "base": base,
    }
    path = tmp_path / "state.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zipped)
    assert (path.read_bytes()[:4] == b"PK\x03\x04") == zipped
    _assert_same(read_legacy_state_dict(path), torch.load(path, weights_only=True))


def _one_line_naming(err: pytest.ExceptionInfo[InputError], path: Path) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


@pytest.mark.parametrize("keep", [0, 5, 60, 20_000, 47_000, -8, -1])
def test_truncated_weights_raise_input_error(tmp_path: Path, keep: int) -> None:
    data = backbone_weights_path().read_bytes()
    bad = tmp_path / "cut.pth"
    bad.write_bytes(data[:keep])
    with pytest.raises(InputError) as err:
        read_legacy_state_dict(bad)
    _one_line_naming(err, bad)


@pytest.mark.parametrize("content", [b"\xff\xd8\xff\xe0 not a pickle at all", b"PK\x03\x04 broken zip",
                                     pickle.dumps([1, 2, 3], protocol=2)])
def test_other_files_raise_input_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "other.pth"
    bad.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_legacy_state_dict(bad)
    _one_line_naming(err, bad)


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_legacy_state_dict(tmp_path / "absent.pth")
    _one_line_naming(err, tmp_path / "absent.pth")


def _legacy_file(path: Path, payload: bytes, tail: bytes = b"") -> Path:
    header = b"".join(pickle.dumps(x, protocol=2) for x in (
        LEGACY_MAGIC, LEGACY_PROTOCOL, {"protocol_version": LEGACY_PROTOCOL, "little_endian": True}))
    path.write_bytes(header + payload + pickle.dumps([], protocol=2) + tail)
    return path


def test_unknown_classes_are_refused(tmp_path: Path) -> None:
    bad = _legacy_file(tmp_path / "evil.pth", pickle.dumps({"x": os.system}, protocol=2))
    with pytest.raises(InputError) as err:
        read_legacy_state_dict(bad)
    msg = _one_line_naming(err, bad)
    assert "system" in msg


def test_a_pickled_dict_of_non_tensors_is_refused(tmp_path: Path) -> None:
    bad = _legacy_file(tmp_path / "plain.pth", pickle.dumps({"x": 1}, protocol=2))
    with pytest.raises(InputError, match="not a tensor"):
        read_legacy_state_dict(bad)


def test_storage_size_mismatch_is_refused(tmp_path: Path) -> None:
    """A storage whose recorded element count differs from the pickle's is refused."""
    data = bytearray(backbone_weights_path().read_bytes())
    buf = io.BytesIO(bytes(data))
    for _ in range(5):  # magic, protocol, system info, the state_dict, the storage keys
        for _op in pickletools.genops(buf):
            pass
    pos = buf.tell()  # the first storage's int64 element count
    (numel,) = struct.unpack_from("<q", data, pos)
    struct.pack_into("<q", data, pos, numel + 1)
    bad = tmp_path / "sizes.pth"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="wrong size"):
        read_legacy_state_dict(bad)
