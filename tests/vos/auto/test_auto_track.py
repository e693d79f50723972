"""``vidseg track --auto`` and the Python API on synthetic clips with exact ground truth: one object
against a panning textured background, a static scene with nothing in it, two objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vidseg.cli.main import cli
from vidseg.eval.metrics import jaccard
from vidseg.io.palette import read_mask
from vidseg.io.reader import open_video
from vidseg.synthetic import Scene, Shape
from vidseg.vos.auto import AutoConfig, AutoTrackingSession

from ..vos_helpers import write_scene

N = 30
W, H = 256, 160
RED, YELLOW = (215, 50, 40), (230, 200, 40)


def panning(shapes: list[Shape]) -> Scene:
    """A textured background panning 3 px right and 1 px down per frame under ``shapes``."""
    return Scene(width=W, height=H, n_frames=N, shapes=shapes, seed=5, pan=(3.0, 1.0))


ONE = [Shape(1, "ellipse", RED, (30, 22), [(70, 60), (180, 100)])]
TWO = [Shape(1, "ellipse", RED, (30, 22), [(60, 50), (120, 60)]),
       Shape(2, "ellipse", YELLOW, (26, 20), [(200, 115), (150, 105)])]


def track(tmp: Path, scene: Scene, n_objects: int = 1, **kw) -> tuple[list[np.ndarray], AutoTrackingSession]:
    clip = write_scene(scene, tmp / "clip")
    with open_video(clip) as reader:
        session = AutoTrackingSession(reader, AutoConfig(objects=n_objects, **kw))
        labels = [lab for _, lab in session.propagate()]
    return labels, session


def mean_j(labels: list[np.ndarray], scene: Scene, pred_id: int, gt_id: int) -> float:
    return float(np.mean([jaccard(labels[t] == pred_id, scene.render(t)[1] == gt_id) for t in range(N)]))


@pytest.mark.parametrize("options", [{}, {"head_weight": 0.5, "refind": True}], ids=["default", "fused"])
def test_one_object_against_a_panning_background_is_found(tmp_path, options):
    scene = panning(ONE)
    labels, session = track(tmp_path, scene, **options)
    j = mean_j(labels, scene, 1, 1)
    # a broken method (the centre of the frame, or everything that moves with a panning camera) misses
    centre = np.zeros((H, W), bool)
    centre[H // 4:3 * H // 4, W // 4:3 * W // 4] = True
    broken = float(np.mean([jaccard(centre, scene.render(t)[1] == 1) for t in range(N)]))
    assert broken < 0.4 < 0.7 <= j
    report = session.report.to_dict()["auto"]
    assert report["warning"] is None and len(report["frame_confidence"]) == N
    assert min(report["frame_confidence"]) > 0.5
    assert report["objects"][0]["id"] == 1 and report["objects"][0]["mean_confidence"] > 0.5


def test_a_static_scene_with_no_object_gives_a_warning_and_empty_masks(tmp_path):
    scene = Scene(width=W, height=H, n_frames=N, shapes=[], seed=5)
    labels, session = track(tmp_path, scene)
    assert all(not lab.any() for lab in labels)
    report = session.report
    assert report.warnings and "no object stands out" in report.warnings[0]
    assert report.frame_confidence == [0.0] * N and report.tracking is None


def test_two_objects_with_auto_2_on_the_command_line(tmp_path):
    scene = panning(TWO)
    clip = write_scene(scene, tmp_path / "clip")
    out, rep = tmp_path / "masks", tmp_path / "report.json"
    res = CliRunner().invoke(cli, ["track", str(clip), "--auto", "2", "-o", str(out), "--report", str(rep), "-q"])
    assert res.exit_code == 0, res.output
    labels = [read_mask(p) for p in sorted(out.glob("*.png"))]
    assert len(labels) == N and {int(v) for lab in labels for v in np.unique(lab)} == {0, 1, 2}
    # ids by salience, so match each ground-truth object to the id that covers it best
    for gt_id in (1, 2):
        best = max((1, 2), key=lambda o: mean_j(labels, scene, o, gt_id))
        assert mean_j(labels, scene, best, gt_id) >= 0.6
    report = json.loads(rep.read_text())
    assert [o["id"] for o in report["auto"]["objects"]] == [1, 2]
    assert report["tracking"]["frames"] == N


@pytest.mark.parametrize(("args", "message"), [
    (["--auto", "-m", "x.png"], "cannot be combined"),
    (["--auto", "--box", "1,1,5,5"], "cannot be combined"),
    (["--auto", "--frame", "3"], "cannot be combined"),
    (["--auto", "--direction", "forward"], "--direction"),
    (["--auto", "0"], "0"),
    (["--auto", "256"], "256"),
])
def test_bad_auto_options_are_usage_errors(tmp_path, args, message):
    clip = write_scene(panning(ONE), tmp_path / "clip")
    res = CliRunner().invoke(cli, ["track", str(clip), "-o", str(tmp_path / "m"), *args])
    assert res.exit_code == 2 and message in res.output
