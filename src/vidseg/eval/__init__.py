"""DAVIS evaluation (J, F, recall, decay), flicker and temporal consistency, and the benchmark
runner used by ``vidseg bench``. The protocol and its differences from the official
davis2017-evaluation code are described in ``PROTOCOL.md`` beside this file."""

from vidseg.eval.davis import EvalResult, ObjectScores, evaluate, evaluate_sequence, iter_evaluate
from vidseg.eval.metrics import boundary_radius, disk, f_measure, jaccard, seg2bmap
from vidseg.eval.stats import Statistics, decay_bins, statistics
from vidseg.eval.temporal import consistency_of_folder, flicker, temporal_consistency

__all__ = [
    "EvalResult",
    "ObjectScores",
    "Statistics",
    "boundary_radius",
    "consistency_of_folder",
    "decay_bins",
    "disk",
    "evaluate",
    "evaluate_sequence",
    "f_measure",
    "flicker",
    "iter_evaluate",
    "jaccard",
    "seg2bmap",
    "statistics",
    "temporal_consistency",
]
