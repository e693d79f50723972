"""The end of a batch: a table (per video: status, frames, fps, seconds, attempts, error) and the
same as JSON (``--json SUMMARY``), with the run's totals and overheads (backend start, model load,
scheduling: the time from handing a video over to getting its result back, less the job's own
time and its model load)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidseg.batch.runner import BatchReport
from vidseg.io.atomic import write_bytes_atomic


def overheads(report: BatchReport) -> dict[str, float]:
    """Seconds: the start (planning, workers up with their models loaded), the mean model load
    per worker, and the mean scheduling per video done."""
    done = [a for a in report.attempts if a.result.status == "done"]
    loads = report.load_seconds + [a.result.load_seconds for a in report.attempts if a.result.load_seconds > 0]
    sched = [max(0.0, a.latency - a.result.seconds - a.result.load_seconds) for a in done]
    frames = sum(a.result.frames for a in done)
    return {"start_s": report.start_seconds,
            "cpu_ms_per_frame": 1000 * sum(a.result.cpu_seconds for a in done) / frames if frames else 0.0,
            "model_load_s": sum(loads) / len(loads) if loads else 0.0,
            "model_loads": float(len(loads)),
            "scheduling_s": sum(sched) / len(sched) if sched else 0.0}


def totals(report: BatchReport) -> dict[str, Any]:
    """Counts and throughput: frames done in this run over its wall time."""
    frames_now = sum(a.result.frames for a in report.attempts if a.result.status == "done")
    return {"videos": len(report.rows), "done": sum(r.status == "done" for r in report.rows),
            "failed": len(report.failed), "ran": len({a.item.name for a in report.attempts}),
            "skipped": len(report.skipped), "adopted": len(report.adopted),
            "frames": sum(r.frames or 0 for r in report.rows if r.status == "done"),
            "frames_this_run": frames_now, "seconds": report.seconds,
            "fps_this_run": frames_now / report.seconds if report.seconds > 0 else 0.0}


def to_dict(report: BatchReport) -> dict[str, Any]:
    return {"job": report.job, "out": str(report.out), "backend": report.backend, "totals": totals(report),
            "overhead": overheads(report),
            "videos": [{"name": r.name, "input": r.input, "prompt": r.prompt, "status": r.status,
                        "frames": r.frames, "fps": r.fps, "seconds": r.seconds, "attempts": r.attempts,
                        "checksum": r.checksum, "error": r.error, "worker": r.worker,
                        "skipped": r.name in report.skipped or r.name in report.adopted} for r in report.rows]}


def write_json(report: BatchReport, path: str | Path) -> None:
    """The summary as JSON at ``path``, atomically."""
    write_bytes_atomic(path, (json.dumps(to_dict(report), indent=1) + "\n").encode())


def table(report: BatchReport, *, max_error: int = 90) -> str:
    """A plain-text table of the videos and a line of totals."""
    head = ("video", "status", "frames", "fps", "seconds", "tries", "error")
    rows = []
    for r in report.rows:
        status = r.status + (" (before)" if r.name in report.skipped else
                             " (found)" if r.name in report.adopted else "")
        err = (r.error or "") if r.status != "done" else ""
        if len(err) > max_error:
            err = err[: max_error - 3] + "..."
        rows.append((r.name, status, "" if r.frames is None or r.status != "done" else str(r.frames),
                     "" if r.fps is None or r.status != "done" else f"{r.fps:.1f}",
                     "" if r.seconds is None or r.status != "done" else f"{r.seconds:.1f}", str(r.attempts), err))
    widths = [max(len(h), *(len(row[k]) for row in rows)) if rows else len(h) for k, h in enumerate(head)]
    numeric = {2, 3, 4, 5}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if k in numeric else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    t = totals(report)
    o = overheads(report)
    out = [line(head), line(tuple("-" * w for w in widths)), *(line(row) for row in rows)]
    out.append(f"{t['done']} of {t['videos']} done ({t['ran']} run now, {t['skipped'] + t['adopted']} done before), "
               f"{t['failed']} failed; {t['frames_this_run']} frames in {t['seconds']:.1f} s = "
               f"{t['fps_this_run']:.1f} fps ({report.backend}; start {o['start_s']:.1f} s, model load "
               f"{o['model_load_s']:.2f} s x {int(o['model_loads'])}, scheduling {o['scheduling_s']:.2f} s/video)")
    return "\n".join(out)
