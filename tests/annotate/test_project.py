"""Project state: atomic saves, undo/redo, resume, a wrong video, a damaged state file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidseg.annotate.project import PREVIOUS, STATE, Project, SourceInfo
from vidseg.errors import InputError

SRC = SourceInfo(path="/videos/a.mp4", frames=10, width=8, height=6, fingerprint="abc")


def _mask(value: int, x0: int = 0) -> np.ndarray:
    m = np.zeros((6, 8), np.uint8)
    m[1:4, x0:x0 + 3] = value
    return m


def test_changes_survive_reopen_and_undo_redo(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object("cat")
    p.set_user_mask(2, _mask(1))
    p.set_user_mask(2, _mask(1, 4))
    q = Project.open(tmp_path / "proj", SRC)  # what a restarted server sees
    assert q.objects()[0]["name"] == "cat"
    assert np.array_equal(q.mask(2), _mask(1, 4))
    assert q.user_frames() == [2]
    assert q.undo().startswith("edit on frame 2")
    assert np.array_equal(q.mask(2), _mask(1))
    q.undo()
    assert q.mask(2) is None and q.user_frames() == []
    q.redo()
    r = Project.open(tmp_path / "proj", SRC)
    assert np.array_equal(r.mask(2), _mask(1)) and r.can_redo()


def test_propagated_frames_never_overwrite_user_frames(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    p.set_user_mask(3, _mask(1))
    p.begin_propagation("test")
    assert p.put_propagated(4, _mask(1, 2), []) is True
    assert p.put_propagated(3, _mask(1, 5), []) is False
    p.end_propagation([3])
    assert np.array_equal(p.mask(3), _mask(1)) and p.status(4) == "propagated"
    p.undo()
    assert p.status(4) is None and p.status(3) == "user"


def test_wrong_video_is_refused(tmp_path: Path) -> None:
    Project.create(tmp_path / "proj", SRC)
    other = SourceInfo(path="/videos/b.mp4", frames=12, width=8, height=6, fingerprint="xyz")
    with pytest.raises(InputError, match="made for another video, a.mp4"):
        Project.open(tmp_path / "proj", other)


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],  # truncated
    lambda text: "",  # emptied
    lambda text: text.replace('"format":1', '"format":7'),  # another format
    lambda text: "\x00\x01garbage",
])
def test_damaged_state_is_a_clear_error_and_nothing_is_lost(tmp_path: Path, damage) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    p.set_user_mask(1, _mask(1))
    p.set_user_mask(5, _mask(1, 3))
    state = tmp_path / "proj" / STATE
    before = sorted(x.name for x in (tmp_path / "proj" / "masks").iterdir())
    state.write_text(damage(state.read_text()))
    with pytest.raises(InputError, match="damaged or truncated.*project.prev.json"):
        Project.open(tmp_path / "proj", SRC)
    assert sorted(x.name for x in (tmp_path / "proj" / "masks").iterdir()) == before
    # the previous state is a working project: copying it back recovers all but the last change
    state.write_bytes((tmp_path / "proj" / PREVIOUS).read_bytes())
    q = Project.open(tmp_path / "proj", SRC)
    assert np.array_equal(q.mask(1), _mask(1))


def test_unreferenced_mask_files_are_collected(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    p.set_user_mask(1, _mask(1))
    stray = tmp_path / "proj" / "masks" / "00001.999.png"  # a killed run's revision
    stray.write_bytes(b"x")
    Project.open(tmp_path / "proj", SRC)
    assert not stray.exists()
    assert json.loads((tmp_path / "proj" / STATE).read_text())["frames"]["1"][1] == "user"


@pytest.mark.parametrize("call, message", [
    (lambda p: p.set_user_mask(10, _mask(1)), "outside 0..9"),
    (lambda p: p.set_user_mask(0, _mask(7)), "not objects of this project"),
    (lambda p: p.set_user_mask(0, np.zeros((3, 3), np.uint8)), "shape"),
    (lambda p: p.update_object(1, color="red"), "#rrggbb"),
    (lambda p: p.update_object(1, name=""), "name"),
    (lambda p: p.delete_object(9), "no object 9"),
    (lambda p: p.undo() and p.undo() and p.undo(), "nothing to undo"),
    (lambda p: p.redo(), "nothing to redo"),
])
def test_bad_edits(tmp_path: Path, call, message: str) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    with pytest.raises(InputError, match=message):
        call(p)


def test_delete_object_removes_its_pixels_everywhere_in_one_undo_step(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    p.add_object()
    both = _mask(1)
    both[5, 5:8] = 2
    p.set_user_mask(0, both)
    p.delete_object(1)
    assert set(np.unique(p.mask(0))) == {0, 2} and p.object_ids() == [2]
    p.undo()
    assert np.array_equal(p.mask(0), both) and p.object_ids() == [1, 2]


def test_history_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidseg.annotate import project as project_module

    monkeypatch.setattr(project_module, "HISTORY_FRAMES", 12)
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object()
    for k in range(4):  # four propagations of 5 frames each
        p.set_user_mask(0, _mask(1, k))
        p.begin_propagation(f"run {k}")
        for t in range(1, 6):
            p.put_propagated(t, _mask(1, k), [])
        p.end_propagation([0])
    kept = [e["what"] for e in p._state["history"]]
    assert sum(len(e["frames"]) for e in p._state["history"]) <= 12 and kept[-1] == "run 3"
    q = Project.open(tmp_path / "proj", SRC)  # the revisions only the dropped steps used are gone
    assert len(list((tmp_path / "proj" / "masks").iterdir())) < 4 * 6
    assert np.array_equal(q.mask(3), _mask(1, 3))


def test_an_earlier_mask_revision_is_read_back_while_kept(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", SRC)
    p.add_object("cat")
    p.set_user_mask(2, _mask(1))
    first = p.revision(2)
    p.set_user_mask(2, _mask(1, 4))
    assert first is not None and first != p.revision(2)
    assert np.array_equal(p.revision_mask(first), _mask(1))  # kept for undo
    for name in ("../state.json", "nope.png", "/etc/passwd", ""):
        assert p.revision_mask(name) is None
