"""``vidseg train`` and ``vidseg distil`` on tiny synthetic sets with exact masks: they learn
(IoU above what a broken pipeline reaches), resume as if never stopped, export a model
``vidseg segment`` runs, and refuse bad checkpoints with one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.train.synthetic_sets import scene_frames, write_set  # noqa: E402
from vidseg.cli.main import main  # noqa: E402
from vidseg.errors import InputError  # noqa: E402
from vidseg.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from vidseg.train.distil import DistilConfig, distil  # noqa: E402
from vidseg.train.loop import FitConfig, fit, load_net, mean_iou  # noqa: E402
from vidseg.train.nets import NetSpec  # noqa: E402
from vidseg.train.trainer import TrainConfig, make_sampler, one_hot, train_teacher  # noqa: E402

SIZE = (96, 64)


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    base = tmp_path_factory.mktemp("teacher")
    data = write_set(base / "data", videos=3, frames=10, size=SIZE)
    cfg = TrainConfig(str(data), size=SIZE, fit=FitConfig(epochs=4, batch=4, steps_per_epoch=12, lr=3e-3, threads=1))
    records = [r for r in train_teacher(cfg, base / "run") if "epoch" in r]
    return data, base / "run", records


def test_teacher_learns_and_exports_a_model_segment_runs(teacher_run: tuple[Path, Path, list[dict]], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data, run, records = teacher_run
    assert records[-1]["loss"] < records[0]["loss"]
    best = max(r["val_iou"] for r in records)
    assert best > 0.5  # all-background scores 0 here, all-foreground about 0.1
    log = json.loads((run / "log.json").read_text())
    assert log["split"] == "by video" and log["val_videos"] == ["clip2"]
    assert [r["epoch"] for r in log["epochs"]] == [1, 2, 3, 4]
    for name in ("model.onnx", "model.json", "best.pt", "checkpoint.pt", "curve.png"):
        assert (run / name).is_file(), name
    rc = main(["segment", str(data / "frames" / "clip1"), "--model", str(run / "model.onnx"),
                                   "-o", str(tmp_path / "masks"), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert len(list((tmp_path / "masks").glob("*.png"))) == 10


def test_onnx_export_matches_torch(teacher_run: tuple[Path, Path, list[dict]]) -> None:
    import onnxruntime as ort

    _, run, _ = teacher_run
    net, spec = load_net(run / "best.pt")
    x = np.random.default_rng(0).random((1, 3, SIZE[1], SIZE[0]), dtype=np.float32)
    with torch.no_grad():
        ref = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    sess = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"image": x})[0]
    assert np.abs(out - ref).max() < 1e-4


def _student_fit(run: Path, epochs: int, stop_after: int | None = None) -> list[dict]:
    images, labels = scene_frames(SIZE, 8)
    spec = NetSpec("student", "tiny", ["object"], SIZE, True)
    ones = np.ones(labels.shape[1:], np.float32)
    sampler = make_sampler(images, lambda i: (one_hot(labels[i], 1), ones), spec)
    cfg = FitConfig(epochs=epochs, batch=4, steps_per_epoch=3, lr=3e-3, threads=1)
    out = []
    for rec in fit(spec, sampler, lambda net: {"val_iou": 0.0}, run, cfg, resume=True):
        if "epoch" in rec:
            out.append(rec)
            if stop_after is not None and rec["epoch"] == stop_after:
                break  # as if killed right after this epoch's checkpoint
    return out


def test_resume_after_a_kill_gives_the_same_state(tmp_path: Path) -> None:
    straight = _student_fit(tmp_path / "a", 3)
    _student_fit(tmp_path / "b", 3, stop_after=1)
    state_b1 = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert state_b1["epoch"] == 1
    resumed = _student_fit(tmp_path / "b", 3)
    assert [r["epoch"] for r in resumed] == [2, 3]
    a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    for k, v in a["net"].items():
        assert torch.equal(v, b["net"][k]), k
    assert [r["loss"] for r in a["history"]] == [r["loss"] for r in b["history"]]
    assert straight[-1]["loss"] == resumed[-1]["loss"]


def test_a_half_written_checkpoint_never_replaces_a_good_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"net": {"w": torch.ones(3)}, "epoch": 1})

    def dies_half_way(obj: object, f: object) -> None:
        Path(str(f)).write_bytes(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"net": {"w": torch.zeros(3)}, "epoch": 2})
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04 truncated zip"])
def test_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path: Path, content: bytes,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(content)
    with pytest.raises(InputError, match="not a readable checkpoint") as err:
        load_net(run / "best.pt")
    assert str(run / "best.pt") in str(err.value) and "\n" not in str(err.value)
    rc = main(["export", str(run), "--format", "onnx", "-o", str(tmp_path / "out")])
    assert rc == 1 and "best.pt: not a readable checkpoint" in capsys.readouterr().err


def test_bad_training_set_is_one_line_from_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_set(tmp_path / "data", videos=1, frames=4, size=SIZE)
    (data / "masks" / "clip0" / "00001.png").unlink()
    rc = main(["train", str(data), "-o", str(tmp_path / "run"), "--size", "96x64", "-q"])
    assert rc == 1
    assert "00001.png: mask missing for this frame" in capsys.readouterr().err.strip().splitlines()[-1]


def test_distil_learns_from_the_teacher_on_unannotated_frames(teacher_run: tuple[Path, Path, list[dict]],
                                                               tmp_path: Path) -> None:
    data, run, _ = teacher_run
    frames_only = data / "frames" / "clip1"  # no masks: teacher labels alone
    cfg = DistilConfig(str(run / "model.onnx"), [str(frames_only)], size=SIZE, val_fraction=0.0,
                       fit=FitConfig(epochs=4, batch=8, steps_per_epoch=15, lr=1e-2, threads=1))
    records = [r for r in distil(cfg, tmp_path / "student") if "epoch" in r]
    assert records[-1]["loss"] < records[0]["loss"]
    soft = np.load(tmp_path / "student" / "teacher_labels.npy")
    everything = mean_iou(np.ones_like(soft), (soft > 127).astype(np.uint8), 1)  # a student that says "all object"
    assert max(r["teacher_iou"] for r in records) > max(0.3, 2 * everything)
    net, spec = load_net(tmp_path / "student" / "best.pt")
    assert spec.gray and spec.kind == "student"
    card = json.loads((tmp_path / "student" / "model.json").read_text())
    assert card["color"] == "GRAY" and card["input_size"] == list(SIZE)
    assert soft.shape == (10, SIZE[1], SIZE[0]) and soft.max() > 200  # soft labels, 0..255


def test_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    _student_fit(tmp_path / "r", 1)
    images, labels = scene_frames(SIZE, 4)
    spec = NetSpec("student", "small", ["object"], SIZE, True)
    with pytest.raises(InputError, match="resume with the same options"):
        next(fit(spec, lambda rng, n: (None, None, None), lambda net: {}, tmp_path / "r",  # type: ignore[arg-type,return-value]
                 FitConfig(epochs=2), resume=True))
