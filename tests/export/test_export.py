"""``vidseg export`` of a tiny trained student: ONNX, TFLite, full-integer int8 checked in
TensorFlow Lite Micro's interpreter, the report, the C array, and models that do not fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("litert_torch", reason="TFLite export needs litert-torch (the mcu extra)")
pytest.importorskip("ai_edge_quantizer", reason="int8 export needs ai-edge-quantizer (the mcu extra)")

from tests.train.synthetic_sets import scene_frames, write_set  # noqa: E402
from vidseg.cli.main import main  # noqa: E402
from vidseg.errors import InputError  # noqa: E402
from vidseg.export import tflm  # noqa: E402
from vidseg.export.job import export_model  # noqa: E402
from vidseg.export.report import TARGETS, Target, fits  # noqa: E402
from vidseg.train.checkpoint import save_checkpoint  # noqa: E402
from vidseg.train.loop import FitConfig, fit, mean_iou, predict_labels  # noqa: E402
from vidseg.train.nets import NetSpec  # noqa: E402
from vidseg.train.trainer import make_sampler, one_hot  # noqa: E402

SIZE = (96, 64)


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A student trained a little on exact masks (so int8 vs float is a real comparison)."""
    base = tmp_path_factory.mktemp("student")
    images, labels = scene_frames(SIZE, 10)
    spec = NetSpec("student", "tiny", ["cat"], SIZE, True)
    ones = np.ones(labels.shape[1:], np.float32)
    sampler = make_sampler(images, lambda i: (one_hot(labels[i], 1), ones), spec)
    def validate(net: torch.nn.Module) -> dict[str, float]:
        return {"val_iou": mean_iou(predict_labels(net, images, True), (labels > 0).astype(np.uint8), 1)}

    for _ in fit(spec, sampler, validate, base / "run",
                 FitConfig(epochs=5, batch=8, steps_per_epoch=15, lr=1e-2, threads=1)):
        pass
    data = write_set(base / "data", videos=1, frames=10, size=SIZE)
    return base / "run", data


@pytest.fixture(scope="module")
def float_export(student: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The student as a float TFLite (the one torch -> TFLite conversion of these tests)."""
    out = tmp_path_factory.mktemp("exp") / "float"
    return out, export_model(student[0], "tflite", out)


@pytest.fixture(scope="module")
def int8_export(student: tuple[Path, Path], float_export: tuple[Path, dict],
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The float TFLite quantised to int8 (no torch needed for this step), compared on masks."""
    _, data = student
    out = tmp_path_factory.mktemp("exp") / "int8"
    report = export_model(float_export[0] / "model.tflite", "tflite-int8", out, calib=[data / "frames" / "clip0"],
                          val=[data])
    return out, report


def test_int8_model_is_full_integer_and_close_to_float(int8_export: tuple[Path, dict]) -> None:
    out, rep = int8_export
    assert rep["input"]["dtype"] == "int8" and rep["output"]["dtype"] == "int8"
    assert rep["input"]["shape"] == [1, 1, SIZE[1], SIZE[0]]
    c = rep["comparison"]
    assert c["float_iou"] > 0.3  # the student learned something to compare
    assert c["ratio"] > 0.9 and c["agreement_iou"] > 0.85 and c["mean_abs_diff"] < 0.03
    assert set(rep["ops"]) <= {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "RESIZE_BILINEAR", "LOGISTIC", "PAD",
                               "RESHAPE", "QUANTIZE", "DEQUANTIZE"}
    assert rep["macs"] > 100_000 and rep["latency_ms"] > 0


def test_tflm_runs_the_int8_model_and_measures_its_arena(int8_export: tuple[Path, dict]) -> None:
    if not tflm.available():
        pytest.skip("tflite-micro is not installed (pip install 'vidseg[mcu]'; the dev extra has it)")
    out, rep = int8_export
    model = (out / "model_int8.tflite").read_bytes()
    x = np.random.default_rng(1).integers(-128, 128, (1, 1, SIZE[1], SIZE[0])).astype(np.int8)
    res = tflm.run_tflm(model, x)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # LiteRT's reference kernels compute what TFLM's do, to the bit
    lite = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    lite.allocate_tensors()
    lite.set_tensor(lite.get_input_details()[0]["index"], x)
    lite.invoke()
    ref = lite.get_tensor(lite.get_output_details()[0]["index"])
    assert np.array_equal(res.output, ref)
    # the arena holds at least the input and output tensors, and is what the report says
    assert res.arena_minimum >= 2 * SIZE[0] * SIZE[1]
    assert rep["arena_bytes"] == res.arena_minimum and rep["fits"] is True
    with pytest.raises(InputError, match="TensorFlow Lite Micro cannot run"):
        tflm.run_tflm(b"TFL3" + bytes(64), x)


def test_export_writes_report_c_array_and_openmv_files(int8_export: tuple[Path, dict], student: tuple[Path, Path],
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, rep = int8_export
    model = (out / "model_int8.tflite").read_bytes()
    assert rep["flash_bytes"] == len(model)
    assert (out / "labels.txt").read_text().split() == ["background", "cat"]
    cc = (out / "model_data.cc").read_text()
    assert f"g_model_data_len = {len(model)};" in cc
    assert cc.count("0x") == len(model)
    assert "kTensorArenaSize" in (out / "model_data.h").read_text()
    assert json.loads((out / "report.json").read_text())["macs"] == rep["macs"]
    assert "cycles per MAC" in (out / "report.md").read_text()
    # vidseg segment runs the int8 model through its card (int8 in/out handled by the backend)
    rc = main(["segment", str(student[1] / "frames" / "clip0"),
                                   "--model", str(out / "model_int8.tflite"), "-o", str(tmp_path / "m"), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert len(list((tmp_path / "m").glob("*.png"))) == 10


def test_float_tflite_matches_torch(student: tuple[Path, Path], float_export: tuple[Path, dict]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    from vidseg.train.loop import load_net

    out, rep = float_export
    assert rep["input"]["dtype"] == "float32" and rep["fits"] is True
    net, _ = load_net(student[0] / "best.pt")
    x = np.random.default_rng(2).random((1, 1, SIZE[1], SIZE[0]), dtype=np.float32)
    with torch.no_grad():
        ref = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    it = Interpreter(model_path=str(out / "model.tflite"))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    assert np.abs(it.get_tensor(it.get_output_details()[0]["index"]) - ref).max() < 1e-4


def test_a_model_the_target_cannot_hold_is_an_error_after_the_report(
        int8_export: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(TARGETS, "portenta-h7", Target("portenta-h7", 2 << 20, 4096, "Cortex-M7", 480, "tiny budget"))
    rc = main(["export", str(int8_export[0] / "model_int8.tflite"), "--format", "tflite-int8", "-o", str(tmp_path / "o")])
    assert rc == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "does not fit portenta-h7" in line and "tensor arena" in line and "model_int8.tflite" in line
    assert (tmp_path / "o" / "report.md").is_file()


@pytest.mark.parametrize(("flash", "arena", "expected"), [
    (100_000, 300_000, (True, 0)), (3 << 20, 300_000, (False, 1)), (100_000, 600_000, (False, 1)),
    (3 << 20, 600_000, (False, 2))])
def test_fit_rules(flash: int, arena: int, expected: tuple[bool, int]) -> None:
    ok, problems = fits(flash, arena, TARGETS["portenta-h7"])
    assert (ok, len(problems)) == expected
    assert fits(flash, arena, TARGETS["generic"])[0] is None


@pytest.mark.parametrize(("name", "content", "message"), [
    ("best.pt", b"junk", "not a readable checkpoint"),
    ("model.tflite", b"junk", "has no model card"),
    ("model.bin", b"junk", "give a vidseg train/distil run folder"),
])
def test_bad_sources_are_one_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        export_model(p, "tflite-int8", tmp_path / "out")
    save_checkpoint(tmp_path / "other.pt", {"x": 1})
    with pytest.raises(InputError, match="not a vidseg train/distil checkpoint"):
        export_model(tmp_path / "other.pt", "onnx", tmp_path / "out2")


def test_export_of_a_tflite_needs_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, vidseg.export.job, vidseg.cli.export_cmd; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
