"""The Ray backend: ``--ray`` starts a local Ray instance (``ray.init(num_cpus=...)``), ``--ray auto``
or ``--ray ADDRESS`` joins a running cluster (``ray start --head`` on one machine, ``ray start
--address=HEAD:6379`` on the others).

Model-holding workers are actors (:class:`vidseg.batch.worker.VideoWorker`, declared with
``num_cpus``): each loads its model once and runs one video at a time, each video a task on an
idle actor. Only paths, settings and small results travel through the object store: workers read
their inputs and write their outputs on shared storage. An actor that dies (its process killed,
its node lost) has its video come back as a retryable failure; a new actor, placed wherever Ray
finds room, takes its place. Ray is imported only here and only when asked for (the ``ray``
extra: ``pip install "vidseg[ray]"``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from vidseg.batch.inputs import WorkItem
from vidseg.batch.local import Outcome
from vidseg.batch.worker import VideoResult, VideoWorker
from vidseg.errors import UsageError, VidsegError

LOCAL = "local"


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`UsageError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError('--ray needs Ray: pip install "vidseg[ray]" (ray[default]>=2.40)') from None
    return ray


class RayPool:
    """Actors on a Ray cluster running ``job`` into ``out`` (a path every node sees).

    ``address``: :data:`LOCAL` starts a local instance with ``workers`` CPUs; ``auto`` or
    ``HOST:PORT`` joins a cluster. ``workers`` (None: as many as the cluster's CPUs allow) actors
    each declare ``cpus_per_video`` CPUs."""

    kind = "ray"

    def __init__(self, job: str, settings: dict[str, Any], out: str | Path, *, address: str = LOCAL,
                 workers: int | None = None, cpus_per_video: float = 1.0, verbose: bool = False) -> None:
        self.job, self.settings, self.out = job, settings, str(out)
        self.address, self.workers, self.cpus = address, workers, cpus_per_video
        self.verbose = verbose
        self._ray: Any = None
        self._started = False
        self._actor_cls: Any = None
        self._idle: list[Any] = []
        self._running: dict[Any, tuple[Any, WorkItem, float]] = {}
        self._ready: dict[Any, Any] = {}  # actor -> its ready() call: (pid, model load seconds)
        self.load_seconds: list[float] = []

    def start(self) -> None:
        ray = self._ray = import_ray()
        common = {"log_to_driver": self.verbose, "logging_level": logging.INFO if self.verbose else logging.ERROR}
        try:
            if not ray.is_initialized():
                if self.address == LOCAL:
                    ray.init(num_cpus=self.workers, include_dashboard=False, **common)
                else:
                    ray.init(address=self.address, **common)
                self._started = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = "start a local Ray instance" if self.address == LOCAL else f"join the Ray cluster at {self.address}"
            raise VidsegError(f"cannot {where}: {' '.join(str(exc).split())[:300]}") from None
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n = self.workers or max(1, int(cpus // self.cpus))
        self._actor_cls = ray.remote(num_cpus=self.cpus, max_restarts=0, max_task_retries=0)(VideoWorker)
        self._idle = [self._new_actor() for _ in range(n)]
        try:  # every actor up, its model loaded
            self.load_seconds = [float(load) for _, load in ray.get([self._ready[a] for a in self._idle])]
        except ray.exceptions.RayError as exc:
            self.close(graceful=False)
            raise VidsegError(f"a Ray batch worker failed to start ({_first_line(exc)})") from None

    def _new_actor(self) -> Any:
        actor = self._actor_cls.remote(self.job, self.settings, 1, ray=True)
        self._ready[actor] = actor.ready.remote()
        return actor

    @property
    def size(self) -> int:
        return len(self._idle) + len(self._running)

    def worker_pids(self) -> list[int]:
        """The process ids of the live actors (waits for them to start)."""
        actors = [*self._idle, *(a for a, _, _ in self._running.values())]
        return [int(pid) for pid, _ in self._ray.get([self._ready[a] for a in actors])]

    def free(self) -> int:
        return len(self._idle)

    def submit(self, item: WorkItem, settings: dict[str, Any], fp: str) -> str:
        actor = self._idle.pop(0)
        ref = actor.run.remote(self.job, settings, item, self.out, fp, self.verbose)
        self._running[ref] = (actor, item, time.perf_counter())
        ready = self._ready[actor]
        if self._ray.wait([ready], timeout=0)[0]:  # started: name it by its process id
            return f"ray:{self._ray.get(ready)[0]}"
        return f"ray:actor-{actor._actor_id.hex()[:12]}"

    def wait(self) -> list[Outcome]:
        ray = self._ray
        if not self._running:
            return []
        ready, _ = ray.wait(list(self._running), num_returns=1)
        out = []
        for ref in ready:
            actor, item, t0 = self._running.pop(ref)
            try:
                result: VideoResult = ray.get(ref)
                self._idle.append(actor)
            except ray.exceptions.RayActorError as exc:  # the actor's process or node died
                result = VideoResult(item.name, "failed", retryable=True, worker="ray",
                                     error=f"Ray worker died ({_first_line(exc)})")
                self._ready.pop(actor, None)
                self._idle.append(self._new_actor())
            except ray.exceptions.RayError as exc:
                result = VideoResult(item.name, "failed", retryable=True, worker="ray",
                                     error=f"Ray task failed ({_first_line(exc)})")
                self._idle.append(actor)
            out.append(Outcome(item, result, time.perf_counter() - t0))
        return out

    def close(self, *, graceful: bool = True) -> None:
        ray = self._ray
        if ray is None:
            return
        for actor in [*self._idle, *(a for a, _, _ in self._running.values())]:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        self._idle, self._running = [], {}
        if self._started:
            ray.shutdown()
            self._started = False


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__
