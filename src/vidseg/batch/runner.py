"""The batch driver: decide what is left to do, hand videos to a backend (the local pool or Ray),
record every step in the state file, retry what a dead worker or a crash lost, and report.

A video is skipped when its state says done with the same settings and its outputs are still
there (:func:`vidseg.batch.worker.verify_outputs`); a video whose outputs landed but whose
driver died before recording it is adopted from its marker, not redone; everything else runs.
Failures that are the input's own (a corrupt video, a missing prompt) are final for this run;
a worker that died or an unexpected error is retried up to ``retries`` times. Re-running the same
command retries the failed ones again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vidseg.batch.inputs import WorkItem
from vidseg.batch.jobs import get_job
from vidseg.batch.local import Outcome
from vidseg.batch.state import BatchState, VideoRow
from vidseg.batch.worker import VideoResult, fingerprint, verify_outputs
from vidseg.errors import InputError, OutputError
from vidseg.io.atomic import clean_stale_temporaries


class Backend(Protocol):
    """Where videos run: :class:`vidseg.batch.local.LocalPool` or :class:`vidseg.batch.ray_runner.RayPool`."""

    kind: str
    load_seconds: list[float]  # each worker start's model load

    def start(self) -> None: ...

    def free(self) -> int: ...

    def submit(self, item: WorkItem, settings: dict[str, Any], fp: str) -> str: ...

    def wait(self) -> list[Outcome]: ...

    def close(self, *, graceful: bool = True) -> None: ...


class Bar(Protocol):
    """A progress bar over videos (tqdm's interface)."""

    def update(self, n: int = 1) -> Any: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...

    def close(self) -> Any: ...


@dataclass
class BatchReport:
    """The outcome of one run of a batch: each video's recorded state (in input order), the
    attempts made in this run, what was skipped, and the run's wall time."""

    job: str
    out: Path
    backend: str
    rows: list[VideoRow]
    attempts: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    start_seconds: float = 0.0  # planning, and the backend's start (workers up, models loaded)
    load_seconds: list[float] = field(default_factory=list)  # each worker start's model load

    @property
    def failed(self) -> list[VideoRow]:
        return [r for r in self.rows if r.status != "done"]

    @property
    def ok(self) -> bool:
        return not self.failed


def settings_record(job: str, given: dict[str, Any], inputs: str, prompts: str | None) -> dict[str, Any]:
    """What a batch was started with (kept in the state file, used by ``--resume``)."""
    return {"job": job, "options": given, "inputs": inputs, "prompts": prompts}


def check_same_batch(state: BatchState, record: dict[str, Any], *, force: bool) -> None:
    """Refuse (:class:`OutputError`) to run into a folder whose batch used another job or other
    options, unless ``force`` (which redoes every video)."""
    old = state.meta("settings")
    if old is None or force:
        return
    for key, what in (("job", "another job"), ("options", "other options")):
        if old.get(key) != record.get(key):
            diff = _diff(old.get(key), record.get(key)) if key == "options" else f"{old.get(key)} != {record.get(key)}"
            raise OutputError(f"holds a batch run with {what} ({diff}): use --resume to continue it "
                              "as it was, --force to redo every video with these settings, or another -o",
                              state.folder)


def _diff(old: Any, new: Any) -> str:
    old, new = dict(old or {}), dict(new or {})
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys)


def run_batch(job_name: str, items: Sequence[WorkItem], out: str | Path, backend: Backend, *,
              given: dict[str, Any], record: dict[str, Any], retries: int = 2, force: bool = False,
              bar: Callable[[int, int], Bar] | None = None) -> BatchReport:
    """Run ``job_name`` with the command line's options ``given`` on ``items`` into ``out`` (see the
    module's docstring); ``record`` is stored as the batch's settings. ``bar(total, initial)``
    makes the progress bar over videos. Returns the :class:`BatchReport`; the backend is closed."""
    out = Path(out)
    t_start = time.perf_counter()
    with BatchState(out) as state:
        check_same_batch(state, record, force=force)
        state.set_meta("settings", record)
        state.recover()
        clean_stale_temporaries(out)  # what workers killed mid-video left (their process is gone)
        report = BatchReport(job_name, out, backend.kind, [])
        plans: dict[str, tuple[WorkItem, dict[str, Any], str]] = {}  # name -> (item, settings, fingerprint)
        for item in items:
            plan = _plan(state, job_name, item, given, out, force)
            if plan is None:
                report.skipped.append(item.name)
            elif plan == "adopted":
                report.adopted.append(item.name)
            elif isinstance(plan, tuple):
                plans[item.name] = plan
        # largest first (longest-processing-time order): the last videos to finish are short ones,
        # so no worker waits long on one straggler at the end
        todo = deque(sorted(plans, key=lambda n: -input_bytes(plans[n][0].input)))
        names = [i.name for i in items]
        statuses = [row.status for n in names if (row := state.row(n)) is not None]
        initial, failed_now = statuses.count("done"), statuses.count("failed")
        progress = bar(len(items), initial + failed_now) if bar is not None else None
        done_now = 0

        def show(step: int = 0) -> None:
            if progress is not None:
                progress.set_postfix_str(f"done {initial + done_now}, failed {failed_now}", refresh=step == 0)
                if step:
                    progress.update(step)

        show()
        tries: dict[str, int] = {}
        graceful = False
        try:
            if todo:
                backend.start()
            report.start_seconds = time.perf_counter() - t_start
            report.load_seconds = list(backend.load_seconds)
            running = 0
            while todo or running:
                while todo and backend.free() > 0:
                    name = todo.popleft()
                    state.set_running(name, backend.submit(*plans[name]))
                    running += 1
                for outcome in backend.wait():
                    running -= 1
                    report.attempts.append(outcome)
                    r = outcome.result
                    name = outcome.item.name
                    if r.status == "done":
                        state.set_done(name, plans[name][2], r.frames, r.seconds, r.checksum, r.worker)
                        done_now += 1
                        show(1)
                    elif r.retryable and tries.get(name, 0) < retries:
                        tries[name] = tries.get(name, 0) + 1
                        state.set_failed(name, r.error or "failed", r.worker, final=False)
                        todo.append(name)  # to the back of the queue: another worker may take it
                    else:
                        state.set_failed(name, r.error or "failed", r.worker)
                        failed_now += 1
                        show(1)
            graceful = True
        finally:
            backend.close(graceful=graceful)
            if progress is not None:
                progress.close()
        report.rows = [row for n in names if (row := state.row(n)) is not None]
    report.seconds = time.perf_counter() - t_start
    return report


def input_bytes(path: str | Path) -> int:
    """The size on disk of a video file or of a frame folder's files: how much work a video is."""
    p = Path(path)
    try:
        if p.is_dir():
            return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
        return p.stat().st_size
    except OSError:
        return 0


def _plan(state: BatchState, job_name: str, item: WorkItem, given: dict[str, Any], out: Path,
          force: bool) -> tuple[WorkItem, dict[str, Any], str] | str | None:
    """What to do with one video: None (done before, outputs intact), ``"adopted"`` (its outputs
    landed but were not recorded), ``"failed"`` (bad options or no prompt: recorded), or the
    ``(item, settings, fingerprint)`` to run."""
    job = get_job(job_name)
    try:
        settings = job.settings(given, item.options)
        job.check(item, settings)
    except InputError as exc:
        fp = fingerprint(job_name, item, {"invalid": item.options})
        state.upsert(item.name, item.input, item.prompt, fp)
        state.set_failed(item.name, str(exc))
        return "failed"
    fp = fingerprint(job_name, item, settings)
    state.upsert(item.name, item.input, item.prompt, fp)
    row = state.row(item.name)
    assert row is not None
    if not force:
        marker = verify_outputs(out / item.name, fp)
        if marker is not None and row.status == "done" and row.fingerprint == fp:
            return None
        if marker is not None:
            state.set_done(item.name, fp, int(marker.get("frames", 0)), float(marker.get("seconds", 0.0)),
                           marker.get("checksum"), str(marker.get("worker", "")), event="adopted")
            return "adopted"
    if row.status == "done":
        why = "redo (--force)" if force else ("settings changed" if row.fingerprint != fp else "outputs missing")
        state.set_pending(item.name, fp, why)
    elif row.status == "failed":
        state.set_pending(item.name, fp, "retry of a failed video")
    elif row.fingerprint != fp:
        state.set_pending(item.name, fp, "settings changed")
    return item, settings, fp


__all__ = ["Backend", "BatchReport", "VideoResult", "check_same_batch", "run_batch", "settings_record"]
