"""``vidseg export``: a trained model as ONNX, float TFLite or full-integer int8 TFLite, checked
in TensorFlow Lite Micro, with a report, a C array and the files OpenMV loads.

Sources: a ``vidseg train`` / ``distil`` run folder (its ``best.pt``), a checkpoint ``.pt``, a
run's ``model.onnx`` (the checkpoint beside it is used), or a ``.tflite``: a float one is quantised
to int8 without torch, an int8 one is checked and reported as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard
from vidseg.export import tflm
from vidseg.export.c_array import write_c_array
from vidseg.export.inspect import ModelFacts, model_facts
from vidseg.export.report import CYCLES_PER_MAC, TARGETS, fits, latency_ms, markdown
from vidseg.io.atomic import atomic_dir, write_bytes_atomic
from vidseg.train.card import model_card, write_card
from vidseg.train.dataset import Frames, read_frames, to_input

FORMATS = ("onnx", "tflite", "tflite-int8")
CALIBRATION_FRAMES = 128
ARENA_MARGIN = 16 * 1024


def _checkpoint_for(model: Path) -> Path | None:
    if model.is_dir():
        return model / "best.pt" if (model / "best.pt").is_file() else None
    if model.suffix == ".pt":
        return model
    if model.suffix == ".onnx" and (model.parent / "best.pt").is_file():
        return model.parent / "best.pt"
    return None


def _source_card(model: Path) -> dict[str, Any]:
    from vidseg.models.registry import card_beside

    beside = card_beside(model)
    if beside is None:
        raise InputError("has no model card beside it (a .json as vidseg train / distil / export write)", model)
    card = json.loads(beside.read_text())
    if "spec" not in card.get("extra", {}):
        raise InputError("its card does not describe a vidseg network (no extra.spec)", beside)
    return dict(card)


def _spread(frames: Frames, n: int) -> Frames:
    if len(frames.images) <= n:
        return frames
    rows = np.linspace(0, len(frames.images) - 1, n).round().astype(int)
    return Frames(frames.images[rows], [frames.videos[i] for i in rows], [frames.gt[i] for i in rows])


def _litert(model: bytes, x: np.ndarray) -> np.ndarray:
    """Probabilities (float) of a LiteRT model for inputs ``(N, C, H, W)`` float 0..1."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model, num_threads=2)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for row in x:
        v = row[None]
        if i["dtype"] == np.int8:
            s, z = i["quantization"]
            v = np.clip(np.round(v / s + z), -128, 127).astype(np.int8)
        it.set_tensor(i["index"], v.reshape(i["shape"]))
        it.invoke()
        y = it.get_tensor(o["index"])
        if o["dtype"] == np.int8:
            s, z = o["quantization"]
            y = (y.astype(np.float32) - z) * s
        outs.append(np.asarray(y, np.float32).reshape(-1, *y.shape[-2:]))
    return np.stack(outs)


def _fg(probs: np.ndarray) -> np.ndarray:
    """Label maps from ``(N, K, h, w)`` probabilities."""
    return (probs[:, 0] > 0.5) if probs.shape[1] == 1 else probs.argmax(1)


def compare(float_model: bytes, int8_model: bytes, frames: Frames, gray: bool, out_size: tuple[int, int]) -> dict[str, Any]:
    """int8 against float on ``frames``: IoU of each against the ground truth where there is some
    (and their ratio), their agreement, and the mean absolute probability difference."""
    import cv2

    x = to_input(frames.images, gray)
    pf, pq = _litert(float_model, x), _litert(int8_model, x)
    lf, lq = _fg(pf), _fg(pq)
    res: dict[str, Any] = {"frames": len(x), "mean_abs_diff": float(np.abs(pf - pq).mean()),
                           "agreement_iou": float(np.mean([jaccard(a, b) for a, b in zip(lf, lq, strict=True)]))}
    rows = [i for i, g in enumerate(frames.gt) if g is not None]
    if rows:
        gts = [cv2.resize(frames.gt[i], out_size, interpolation=cv2.INTER_NEAREST) > 0 for i in rows]  # type: ignore[arg-type]
        res["float_iou"] = float(np.mean([jaccard(g, lf[i]) for g, i in zip(gts, rows, strict=True)]))
        res["int8_iou"] = float(np.mean([jaccard(g, lq[i]) for g, i in zip(gts, rows, strict=True)]))
        res["ratio"] = res["int8_iou"] / res["float_iou"] if res["float_iou"] > 0 else float("nan")
        res["against"] = f"ground truth of {len(rows)} frames"
    else:
        res["against"] = "no ground truth: agreement of int8 with float"
    return res


def export_model(model: str | Path, fmt: str, out: str | Path, *, calib: Sequence[str | Path] | None = None,
                 val: Sequence[str | Path] | None = None, target: str = "portenta-h7", force: bool = False,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Export ``model`` into the folder ``out`` (written whole, then renamed) and return the
    report. Raises :class:`InputError` for a bad source, and after writing when the model does not
    fit ``target``."""
    say = progress or (lambda _m: None)
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if target not in TARGETS:
        raise InputError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    src = Path(model)
    if not src.exists():
        raise InputError("model not found", src)
    ckpt = _checkpoint_for(src)
    net = None
    if ckpt is not None:
        from vidseg.train.loop import load_net

        net, net_spec = load_net(ckpt)
        spec = net_spec.to_dict()
        card = model_card(f"vidseg-{spec['kind']}", spec, "")
    elif src.suffix.lower() in (".onnx", ".tflite"):
        card = _source_card(src)
        spec = card["extra"]["spec"]
    else:
        raise InputError("give a vidseg train/distil run folder, a .pt checkpoint, or a .onnx/.tflite with its card", src)
    out = Path(out)
    source_bytes = src.read_bytes() if src.is_file() and src.suffix.lower() in (".onnx", ".tflite") else b""
    report: dict[str, Any] = {"model": str(src), "format": fmt}
    with atomic_dir(out, force=force) as tmp:
        if fmt == "onnx":
            name = "model.onnx"
            if net is not None:
                from vidseg.train.nets import NetSpec
                from vidseg.train.onnx_export import write_onnx

                write_onnx(net, NetSpec.from_dict(spec), tmp / name)
            elif src.suffix.lower() == ".onnx":
                (tmp / name).write_bytes(source_bytes)
            else:
                raise InputError("cannot turn a .tflite into ONNX", src)
            write_card(tmp / name, {**card, "file": name})
            report["flash_bytes"] = (tmp / name).stat().st_size
            return report
        float_bytes: bytes | None = None
        if net is not None:
            from vidseg.export.tflite import tflite_bytes
            from vidseg.train.nets import NetSpec

            say("converting to TFLite (litert-torch)")
            float_bytes = tflite_bytes(net, NetSpec.from_dict(spec))
        elif src.suffix.lower() == ".tflite":
            facts = model_facts(source_bytes)
            if facts.int8 and fmt == "tflite":
                raise InputError("is an int8 model: export it with --format tflite-int8", src)
            float_bytes = None if facts.int8 else source_bytes
        else:
            raise InputError("converting an ONNX model to TFLite needs the torch checkpoint it came from "
                             "(best.pt beside it, as vidseg train / distil leave it)", src)
        size = (int(spec["size"][0]), int(spec["size"][1]))
        frames = None
        if fmt == "tflite-int8":
            if float_bytes is not None:
                if not calib:
                    raise InputError("int8 export needs --calib FRAMES (a video, a folder of frames or a "
                                     "training set like the model's input)")
                say("reading calibration frames")
                frames = _spread(read_frames(list(calib), size, limit=CALIBRATION_FRAMES), CALIBRATION_FRAMES)
                from vidseg.export.tflite import quantise_int8

                say(f"quantising to int8 on {len(frames.images)} calibration frames (ai-edge-quantizer)")
                final = quantise_int8(float_bytes, to_input(frames.images, bool(spec["gray"])))
            else:
                final = source_bytes
            name = "model_int8.tflite"
        else:
            assert float_bytes is not None
            final, name = float_bytes, "model.tflite"
        from vidseg.export.tflite import strip_names

        final = strip_names(final)
        facts = model_facts(final)
        report.update(_tflite_report(final, facts, TARGETS[target], spec, say))
        if fmt == "tflite-int8" and float_bytes is not None:
            check = _spread(read_frames(list(val), size, limit=256), 256) if val else frames
            if check is not None:
                say("comparing int8 with float")
                w, h = size
                out_size = (w // 2, h // 2) if spec.get("out_res") == "half" else (w, h)
                report["comparison"] = compare(float_bytes, final, check, bool(spec["gray"]), out_size)
                if not val:
                    report["comparison"]["against"] += " (on the calibration frames)"
        (tmp / name).write_bytes(final)
        write_card(tmp / name, {**card, "file": name})
        (tmp / "labels.txt").write_text("\n".join(card["labels"]) + "\n")
        arena = report.get("arena_bytes")
        write_c_array(final, tmp, (arena or 0) + ARENA_MARGIN, facts.inputs[0].shape)
        report["files"] = sorted(p.name for p in tmp.iterdir())
        write_bytes_atomic(tmp / "report.json", (json.dumps(report, indent=1) + "\n").encode())
        write_bytes_atomic(tmp / "report.md", markdown(report).encode())
    if report.get("fits") is False:
        raise InputError(f"does not fit {target}: {'; '.join(report['problems'])} (report in {out / 'report.md'})",
                         out / name)
    return report


def _tflite_report(model: bytes, facts: ModelFacts, target: Any, spec: dict, say: Callable[[str], None]) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "flash_bytes": len(model), "macs": facts.macs, "ops": facts.ops,
        "input": asdict(facts.inputs[0]), "output": asdict(facts.outputs[0]),
        "cycles_per_mac": CYCLES_PER_MAC, "latency_ms": latency_ms(facts.macs, target),
        "target": asdict(target), "spec": spec,
    }
    if tflm.available():
        say("running the model in TensorFlow Lite Micro")
        shape = facts.inputs[0].shape
        x = np.random.default_rng(0).integers(0, 256, shape).astype(np.float32) / 255.0
        i = facts.inputs[0]
        x = np.clip(np.round(x / i.scale + i.zero_point), -128, 127).astype(np.int8) if i.dtype == "int8" else x
        run = tflm.run_tflm(model, x)
        rep["arena_bytes"] = run.arena_minimum
        rep["arena_recorded_bytes"] = run.arena_recorded
        rep["tflm"] = (f"ran every op ({', '.join(facts.ops)}); tensor arena {run.arena_minimum} bytes "
                       f"(smallest that runs; the recording allocator reports {run.arena_recorded})")
        ok = True
    else:
        rep["arena_bytes"] = None
        rep["tflm"] = "not checked: tflite-micro is not installed (pip install 'vidseg[mcu]')"
        ok = False
    f, problems = fits(len(model), rep["arena_bytes"], target)
    rep["fits"], rep["problems"] = (f if ok or f is False else None), problems
    return rep

