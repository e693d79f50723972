"""Backends and pre-processing, checked on tiny ONNX models whose outputs are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.backends import OnnxBackend, infer_card, load_backend
from vidseg.models.card import ModelCard
from vidseg.models.model import Model, load_model
from vidseg.models.toy import constant_onnx, conv1x1_onnx, mobile_segnet_onnx

W3 = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.5, 0.5, -1.0]], np.float32)
B3 = np.array([0.0, -0.25, 0.1], np.float32)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_normalisation_colour_order_and_layout(tmp_path: Path, layout: str) -> None:
    path = conv1x1_onnx(tmp_path / "m.onnx", W3, B3, (4, 2), layout=layout)
    card = ModelCard(name="m", task="semantic", file=str(path), input_size=(4, 2), layout=layout, color="BGR",
                     scale=255.0, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 2.0), labels=("a", "b", "c"))
    model = Model(card, OnnxBackend(path))
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (2, 4, 3), dtype=np.uint8)  # same size as the input: no resize
    (out,), lb = model.run(img)
    x = (img[..., ::-1].astype(np.float32) / 255.0 - np.array(card.mean, np.float32)) / np.array(card.std, np.float32)
    expected = x @ W3.T + B3  # (h, w, classes)
    got = out[0] if layout == "NHWC" else out[0].transpose(1, 2, 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert (lb.pad_x, lb.pad_y, lb.scale_x) == (0.0, 0.0, 1.0)


def test_letterbox_places_the_frame_centred(tmp_path: Path) -> None:
    path = conv1x1_onnx(tmp_path / "m.onnx", np.eye(3, dtype=np.float32), np.zeros(3, np.float32), (8, 8))
    card = ModelCard(name="m", task="semantic", file=str(path), input_size=(8, 8), resize="letterbox",
                     labels=("a", "b", "c"))
    model = Model(card, OnnxBackend(path))
    x, lb = model.prepare(np.full((4, 8, 3), 255, np.uint8))
    assert (lb.scale_x, lb.pad_x, lb.pad_y) == (1.0, 0.0, 2.0)
    assert np.all(x[0, :, 2:6, :] == 1.0)
    np.testing.assert_allclose(x[0, :, :2, :], 114 / 255.0, rtol=1e-6)


def test_card_that_contradicts_the_model_is_refused(tmp_path: Path) -> None:
    path = conv1x1_onnx(tmp_path / "m.onnx", W3, B3, (4, 2))
    card = ModelCard(name="m", task="semantic", file=str(path), input_size=(8, 8), labels=("a", "b", "c"))
    with pytest.raises(InputError, match="model card says input 8x8"):
        Model(card, OnnxBackend(path))


def test_infer_card_for_a_semantic_model(tmp_path: Path) -> None:
    path = conv1x1_onnx(tmp_path / "seg.onnx", W3, B3, (6, 4), layout="NHWC")
    card = infer_card(load_backend(path), path)
    assert (card.task, card.input_size, card.layout) == ("semantic", (6, 4), "NHWC")
    assert card.labels == ("background", "class1", "class2")


def test_infer_card_for_a_yolo_seg_model_reads_class_names(tmp_path: Path) -> None:
    det = np.zeros((1, 4 + 2 + 4, 10), np.float32)
    protos = np.zeros((1, 4, 8, 8), np.float32)
    path = constant_onnx(tmp_path / "yolo.onnx", [det, protos], (32, 32),
                         metadata={"names": "{0: 'person', 1: 'cat'}"})
    card = infer_card(load_backend(path), path)
    assert (card.task, card.output, card.resize) == ("instance", "yolo-seg", "letterbox")
    assert card.labels == ("person", "cat")


def test_load_model_by_path_and_bad_files(tmp_path: Path) -> None:
    path, params, macs = mobile_segnet_onnx(tmp_path / "net.onnx", size=(64, 48), classes=5, widths=(16, 32),
                                            blocks=(1, 1))
    import onnx
    from onnx import numpy_helper

    weights = onnx.load(str(path)).graph.initializer
    assert params == sum(numpy_helper.to_array(t).size for t in weights if t.name.startswith(("w", "b")))
    assert macs > params
    model = load_model(str(path))
    (out,), _ = model.run(np.zeros((30, 50, 3), np.uint8))
    assert out.shape == (1, 5, 6, 8)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        load_model(str(bad))
    with pytest.raises(InputError, match="cannot load TFLite model"):
        load_backend(bad.rename(tmp_path / "bad.tflite"))


def test_model_card_beside_file_overrides_inference(tmp_path: Path) -> None:
    import json

    path = conv1x1_onnx(tmp_path / "m.onnx", W3, B3, (4, 2))
    (tmp_path / "m.json").write_text(json.dumps({"name": "three", "task": "semantic", "input_size": [4, 2],
                                                  "labels": ["sky", "tree", "road"]}))
    model = load_model(str(path))
    assert model.card.labels == ("sky", "tree", "road")
    assert model.card.name == "three" and model.card.file == str(path)


def test_execution_providers_prefer_accelerators_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidseg.models.backends import choose_providers

    monkeypatch.delenv("VIDSEG_ORT_PROVIDERS", raising=False)
    avail = ["AzureExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(avail) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(avail, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    monkeypatch.setenv("VIDSEG_ORT_PROVIDERS", "CPUExecutionProvider")
    assert choose_providers(avail) == ["CPUExecutionProvider"]
