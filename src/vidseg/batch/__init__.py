"""Many videos at once: ``vidseg batch`` over a folder, a DAVIS/YouTube-VOS layout or a manifest,
resumable, on a local process pool or a Ray cluster.

``inputs`` finds the videos, ``jobs`` runs one video (``track``, ``segment``), ``worker`` lands its
outputs atomically with a marker, ``state`` keeps the SQLite state file, ``local`` and
``ray_runner`` are the backends, ``runner`` drives them, ``summary`` reports.
"""

from vidseg.batch.inputs import WorkItem, discover
from vidseg.batch.jobs import JOBS, BatchJob, get_job
from vidseg.batch.runner import BatchReport, run_batch

__all__ = ["JOBS", "BatchJob", "BatchReport", "WorkItem", "discover", "get_job", "run_batch"]
