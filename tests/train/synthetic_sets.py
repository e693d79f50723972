"""Tiny training sets with exact masks, in the layouts ``vidseg train`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene


def write_set(root: Path, layout: str = "frames-masks", *, videos: int = 1, frames: int = 16,
              size: tuple[int, int] = (96, 64)) -> Path:
    """Write ``videos`` demo scenes of ``frames`` frames: layout ``frames-masks`` (frames/<v>/,
    masks/<v>/), ``davis`` (JPEGImages/480p/<v>, Annotations/480p/<v>) or ``manifest``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for v in range(videos):
        name = f"clip{v}"
        scene = demo_scene(size[0], size[1], n_frames=frames, seed=v)
        if layout == "davis":
            fdir, mdir = root / "JPEGImages" / "480p" / name, root / "Annotations" / "480p" / name
        else:
            fdir, mdir = root / "frames" / name, root / "masks" / name
        fdir.mkdir(parents=True, exist_ok=True)
        mdir.mkdir(parents=True, exist_ok=True)
        for t in range(frames):
            img, labels = scene.render(t)
            cv2.imwrite(str(fdir / f"{t:05d}.png"), img[..., ::-1])
            write_mask(mdir / f"{t:05d}.png", labels)
            rows.append({"frame": f"frames/{name}/{t:05d}.png", "mask": f"masks/{name}/{t:05d}.png",
                         "video": name, "index": t, "split": "val" if t >= frames * 3 // 4 else "train"})
    if layout == "manifest":
        (root / "manifest.json").write_text(json.dumps({"items": rows}))
    return root


def scene_frames(size: tuple[int, int] = (96, 64), frames: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W, 3), labels (N, H, W))`` of one demo scene."""
    scene = demo_scene(size[0], size[1], n_frames=frames, seed=seed)
    pairs = [scene.render(t) for t in range(frames)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
