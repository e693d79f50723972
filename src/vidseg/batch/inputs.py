"""The videos of a batch: a folder of videos or frame folders, a DAVIS or YouTube-VOS layout, or a
manifest (CSV or JSON lines: ``input``, ``prompt``, ``name`` and per-video options).

Every path is made absolute here (relative paths in a manifest count from the manifest's folder),
so workers on other machines get the same paths on shared storage. Each video gets a name, the
folder its outputs land in (``OUT/<name>/``); names must be unique.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidseg.errors import InputError, UsageError
from vidseg.io.folder import IMAGE_SUFFIXES
from vidseg.io.natsort import natural_key

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts",
                            ".mts", ".flv", ".wmv", ".3gp", ".ogv", ".y4m"})
MANIFEST_SUFFIXES = frozenset({".csv", ".jsonl", ".json", ".ndjson"})
RESERVED_KEYS = ("input", "prompt", "name")
PATH_OPTIONS = frozenset({"weights"})  # per-video options that are paths (made absolute like the rest)


@dataclass(frozen=True)
class WorkItem:
    """One video of a batch: its name (``OUT/<name>/``), input (a video file or a frame folder),
    prompt (a mask PNG or a folder of PNGs named like the frames; None when there is none) and
    the options that differ from the batch's (from a manifest)."""

    name: str
    input: str
    prompt: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def discover(inputs: str | Path, *, prompts: str | Path | None = None,
             option_names: Collection[str] = ()) -> list[WorkItem]:
    """The videos named by ``inputs``: a manifest file (``.csv``, ``.jsonl``/``.json``), a single
    video, a DAVIS (``JPEGImages/480p/<seq>``, first mask ``Annotations/480p/<seq>/00000.png``) or
    YouTube-VOS root (``JPEGImages/<vid>``, masks ``Annotations/<vid>/``), or a folder of videos
    and frame folders, whose prompts are ``<prompts>/<name>.png`` or ``<prompts>/<name>/`` (default:
    a ``<name>.png`` beside each video). ``option_names`` are the per-video options a manifest may
    set. Raises :class:`InputError` (a missing or empty input) or :class:`UsageError` (a bad
    manifest, two videos with one name)."""
    root = Path(inputs).expanduser().absolute()
    if not root.exists():
        raise InputError("not found (give a folder of videos, a DAVIS folder or a manifest)", root)
    if root.is_file():
        if root.suffix.lower() in MANIFEST_SUFFIXES:
            items = read_manifest(root, option_names)
        else:
            items = [WorkItem(root.stem, str(root), _prompt_for(root.stem, root.parent, prompts))]
    elif (root / "JPEGImages").is_dir() and (root / "Annotations").is_dir():
        items = _dataset_items(root)
    else:
        items = _folder_items(root, prompts)
    if not items:
        raise InputError("no videos or frame folders found", root)
    _check_names(items)
    return items


def _prompt_for(name: str, beside: Path, prompts: str | Path | None) -> str | None:
    where = Path(prompts).expanduser().absolute() if prompts is not None else beside
    for cand in (where / f"{name}.png", where / name if prompts is not None else None):
        if cand is not None and cand.exists():
            return str(cand)
    return None


def _is_frame_folder(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") for p in folder.iterdir())


def _folder_items(root: Path, prompts: str | Path | None) -> list[WorkItem]:
    """Videos and frame folders directly in ``root`` (hidden entries left out); ``root`` itself
    when it holds frames."""
    if _is_frame_folder(root) and not any(p.suffix.lower() in VIDEO_SUFFIXES for p in root.iterdir()):
        return [WorkItem(root.name, str(root), _prompt_for(root.name, root.parent, prompts))]
    items = []
    for p in sorted(root.iterdir(), key=lambda q: natural_key(q.name)):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
            items.append(WorkItem(p.stem, str(p), _prompt_for(p.stem, root, prompts)))
        elif p.is_dir() and _is_frame_folder(p):
            items.append(WorkItem(p.name, str(p), _prompt_for(p.name, root, prompts)))
    return items


def _dataset_items(root: Path) -> list[WorkItem]:
    """DAVIS (a resolution folder such as ``480p``: the first mask is the prompt) or YouTube-VOS
    (no resolution folder: every mask in ``Annotations/<vid>/`` gives objects on its frame)."""
    from vidseg.eval.bench import dataset_dirs
    from vidseg.eval.dataset import list_masks

    images, annotations = dataset_dirs(root)
    davis = images != root / "JPEGImages"
    items = []
    for seq in sorted((d for d in images.iterdir() if d.is_dir() and not d.name.startswith(".")),
                      key=lambda d: natural_key(d.name)):
        ann = annotations / seq.name
        prompt: str | None = None
        if ann.is_dir():
            masks = list_masks(ann)
            if davis and masks:
                prompt = str(masks[0])
            elif not davis and masks:
                prompt = str(ann)
        items.append(WorkItem(seq.name, str(seq), prompt))
    return items


def read_manifest(path: Path, option_names: Collection[str] = ()) -> list[WorkItem]:
    """The rows of a CSV (header ``input,prompt,name,OPTION...``) or JSON-lines manifest (one object
    per line with the same keys; blank and ``#`` lines skipped). Empty cells are left out."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the manifest ({exc})", path) from None
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        for k, row in enumerate(reader, start=2):
            if None in row:
                raise UsageError(f"{path} line {k}: more cells than the header has columns")
            rows.append((k, {key.strip(): v.strip() for key, v in row.items() if v is not None and v.strip()}))
    else:
        for k, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path} line {k}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{path} line {k}: expected a JSON object with an \"input\"")
            rows.append((k, {str(key): v for key, v in obj.items() if v is not None and v != ""}))
    return [_manifest_item(path, k, row, option_names) for k, row in rows]


def _manifest_item(path: Path, line: int, row: dict[str, Any], option_names: Collection[str]) -> WorkItem:
    where = f"{path} line {line}"
    if "input" not in row:
        raise UsageError(f"{where}: no input")
    unknown = sorted(set(row) - set(RESERVED_KEYS) - set(option_names))
    if unknown:
        allowed = ", ".join([*RESERVED_KEYS, *sorted(option_names)])
        raise UsageError(f"{where}: unknown column {unknown[0]!r} (allowed: {allowed})")
    base = path.parent

    def resolve(value: Any) -> str:
        p = Path(str(value)).expanduser()
        return str(p if p.is_absolute() else (base / p).absolute())

    source = resolve(row["input"])
    name = str(row.get("name") or Path(source).stem)
    prompt = resolve(row["prompt"]) if "prompt" in row else None
    options = {k: resolve(v) if k in PATH_OPTIONS else v for k, v in row.items() if k not in RESERVED_KEYS}
    return WorkItem(name, source, prompt, options)


def _check_names(items: Iterable[WorkItem]) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if not item.name or item.name.startswith(".") or "/" in item.name or "\\" in item.name:
            raise UsageError(f"{item.input}: {item.name!r} cannot name an output folder (give a name in "
                             "the manifest)")
        if item.name in seen:
            raise UsageError(f"{seen[item.name]} and {item.input} both get the output folder name "
                             f"{item.name!r}: give each a name (manifest column \"name\")")
        seen[item.name] = item.input
