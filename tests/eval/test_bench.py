"""The benchmark runner on a tiny synthetic DAVIS-layout dataset, with tracker doubles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.eval.eval_helpers import write_seq
from vidseg.errors import InputError, OutputError, VidsegError
from vidseg.eval.bench import make_engine_factory, run_benchmark
from vidseg.eval.davis import evaluate
from vidseg.synthetic import demo_scene
from vidseg.vos.baseline import CopyTracker


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("davis")
    for i, name in enumerate(["alpha", "beta"]):
        scene = demo_scene(width=80, height=64, n_frames=6 + i, seed=i)
        img_dir = root / "JPEGImages" / "480p" / name
        img_dir.mkdir(parents=True)
        labels = []
        for t in range(scene.n_frames):
            img, lab = scene.render(t)
            Image.fromarray(img).save(img_dir / f"{t:05d}.jpg", quality=95)
            labels.append(lab)
        write_seq(root / "Annotations" / "480p" / name, labels)
    return root


class Recorder(CopyTracker):
    """A tracker double: returns the first mask, records whether each call carried a mask."""

    calls: list[bool] = []

    def step(self, image: np.ndarray, mask: np.ndarray | None = None, objects: object = None) -> np.ndarray:
        Recorder.calls.append(mask is not None)
        return super().step(image, mask)


def test_copy_baseline(dataset: Path, tmp_path: Path) -> None:
    r = run_benchmark(dataset, engine="copy", out_dir=tmp_path / "out", isolate=True)
    assert [x.name for x in r.runs] == ["alpha", "beta"]
    assert [x.frames for x in r.runs] == [6, 7]
    assert all(x.fps > 0 and x.peak_rss_mib > 10 for x in r.runs)
    assert len(list((tmp_path / "out" / "beta").glob("*.png"))) == 7
    direct = evaluate(dataset, tmp_path / "out")
    assert r.mean()["J"] == direct.mean()["J"] < 1.0
    assert r.runs[0].j == direct.sequences()["alpha"]["J"]
    assert r.mean()["frames"] == 13
    assert r.to_dict()["sequences"]["alpha"]["frames"] == 6
    with pytest.raises(OutputError, match="already exist"):
        run_benchmark(dataset, engine="copy", out_dir=tmp_path / "out")
    run_benchmark(dataset, engine="copy", out_dir=tmp_path / "out", force=True)


def test_injected_engine_in_process(dataset: Path) -> None:
    Recorder.calls = []
    r = run_benchmark(dataset, sequences=["beta"], engine_factory=Recorder, isolate=False)
    assert Recorder.calls == [True] + [False] * 6
    assert r.memory == "runner high-water" and r.out_dir is None
    assert [x.name for x in r.runs] == ["beta"]


def test_errors(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown engine 'nope'"):
        make_engine_factory("nope")
    with pytest.raises(InputError, match="not a DAVIS dataset"):
        run_benchmark(tmp_path, engine="copy")
    with pytest.raises(InputError, match="no annotations for sequence 'gamma'"):
        run_benchmark(dataset, engine="copy", sequences=["gamma"])

    class Broken(CopyTracker):
        def step(self, image: np.ndarray, mask: np.ndarray | None = None, objects: object = None) -> np.ndarray:
            raise RuntimeError("engine exploded")

    with pytest.raises(VidsegError, match="engine exploded"):
        run_benchmark(dataset, engine_factory=Broken, sequences=["alpha"])


def test_real_tracker_preset(dataset: Path) -> None:
    pytest.importorskip("vidseg.vos")
    r = run_benchmark(dataset, engine="classical-fast", sequences=["alpha"])
    assert r.runs[0].frames == 6 and 0.0 <= r.runs[0].j <= 1.0
