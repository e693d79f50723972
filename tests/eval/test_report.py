"""Tables, JSON, CSV and the plot of an evaluation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.eval.eval_helpers import scene_labels, shifted, write_seq
from vidseg.errors import OutputError
from vidseg.eval.davis import EvalResult, evaluate
from vidseg.eval.report import (
    format_objects,
    format_summary,
    format_table,
    write_csv,
    write_json,
    write_plot,
)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> EvalResult:
    d = tmp_path_factory.mktemp("rep")
    labs = scene_labels(n=6)
    write_seq(d / "gt" / "s", labs)
    write_seq(d / "pred" / "s", shifted(labs, 3))
    return evaluate(d / "gt", d / "pred")


def test_tables(result: EvalResult) -> None:
    text = format_summary(result)
    assert text.splitlines()[0].split() == ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean",
                                            "F-Recall", "F-Decay"]
    assert f"{result.mean()['J&F']:.3f}" in text.splitlines()[2]
    objs = format_objects(result).splitlines()
    assert objs[2].startswith("s/1") and objs[3].startswith("s/2")
    md = format_table(["a", "b"], [["x", "1"]], markdown=True).splitlines()
    assert md == ["| a | b |", "| --- | ---: |", "| x | 1 |"]


def test_json_schema(result: EvalResult, tmp_path: Path) -> None:
    write_json(result.to_dict(), tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert list(doc["mean"]) == ["J&F", "J", "J-recall", "J-decay", "F", "F-recall", "F-decay"]
    assert set(doc["objects"]) == {"s/1", "s/2"}
    assert list(doc["objects"]["s/1"]) == ["J", "J-recall", "J-decay", "F", "F-recall", "F-decay"]
    assert doc["mean"]["J"] == pytest.approx(np.mean([o.j.mean() for o in result.objects]))
    assert 0 < doc["mean"]["J"] < 1
    assert "flicker" in doc["temporal"]["s/1"]
    with pytest.raises(OutputError, match="already exists"):
        write_json(result.to_dict(), tmp_path / "r.json")


def test_csv_rows(result: EvalResult, tmp_path: Path) -> None:
    write_csv(result, tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["sequence"], r["object"]) for r in rows] == [("s", "1"), ("s", "2")]
    assert float(rows[0]["J"]) == result.objects[0].j_stats.mean
    assert rows[0]["frames"] == "4"


def test_plot(result: EvalResult, tmp_path: Path) -> None:
    write_plot(result, tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as im:
        assert im.format == "PNG" and im.width >= 100 and im.height >= 100


def test_plot_labels_are_whole(tmp_path: Path) -> None:
    from PIL import ImageDraw

    from vidseg.eval.davis import ObjectScores
    from vidseg.eval.report import plot_image

    name = "a-rather-long-sequence-name-of-forty-chars"
    objs = [ObjectScores(name, 1, ["00001"], np.array([0.5]), np.array([0.6])),
            ObjectScores("b", 1, ["00001"], np.array([0.7]), np.array([0.8]))]
    im = plot_image(EvalResult("semi-supervised", objs))
    full = ImageDraw.Draw(im).textlength(name)
    grey = np.asarray(im.convert("L"))
    base = 30 + 240  # the axis: labels hang below it
    band = grey[base + 4:, 40:100]  # under the first sequence's bars
    rows = np.flatnonzero((band < 128).any(axis=1))
    assert rows.size and rows.max() - rows.min() + 1 >= full - 2  # the whole name is drawn
    assert rows.max() + base + 4 < im.height - 1  # and none of it is cut off at the bottom
    im.save(tmp_path / "p.png")
