"""Settings of the classical engine (:class:`~vidseg.vos.classical.tracker.ClassicalTracker`) and
its three named presets.

Measured on davis2016-dev (5 sequences, 854x480, end to end with ``run_benchmark``, a shared
2-core CPU, so the speeds are noisy): ``fast`` J&F 0.614 at 43 fps, ``default`` 0.618 at 30 fps
(engine ~32-37 ms/frame), ``accurate`` (the whole pipeline at full resolution) 0.645 at 9 fps.
``default`` at ``work_width=512`` (cell 34, blur 3.0, guided radius 5) gives 0.627 at ~50 ms/frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidseg.errors import InputError

if TYPE_CHECKING:
    from vidseg.vos.classical.tracker import ClassicalTracker


@dataclass(frozen=True)
class ClassicalConfig:
    """Every knob of the classical engine; :meth:`make_tracker` builds one with them.

    Lengths are in pixels of the working resolution (frames shrunk to ``work_width``).
    """

    name: str = "default"
    work_width: int = 427  # width of the working resolution (854x480 -> 427x240)
    flow_preset: str = "fast"  # DIS optical flow preset: "ultrafast" | "fast" | "medium"
    grid_cell: int = 28  # spatial cell of the bilateral grid
    grid_levels: tuple[int, int, int] = (12, 10, 10)  # grid levels of L, a, b
    grid_ab_step: int = 6  # Lab units of a and b per grid level (a, b are centred on 128)
    smooth_slice: bool = False  # slice bilinearly between spatial cells (no blocks at cell borders)
    grid_blur: int = 1  # [1 2 1] blur passes over the grid
    rigid_mix: float = 1.0  # share of each object's own median motion in its warp (0 = dense flow)
    object_affine: bool = True  # move each object by its own fitted rotation+scale+shift (else shift)
    grid_pseudo: float = 1.0  # pseudo-count of the prior in the local evidence (weak grid support)
    prior_blur: float = 2.5  # Gaussian blur (sigma) of the warped previous probabilities
    prior_floor: float = 0.15  # every class gets at least this prior probability (flow can be wrong)
    search_radius: float = 1.0  # where an object's floor applies, as a fraction of its size
    prior_weight: float = 1.0  # weight of log(warped prior) in the fusion
    grid_weight: float = 1.0  # weight of log(local bilateral evidence) in the fusion
    memory_given: int = 2  # given frames kept in the grid memory (the newest)
    memory_recent: int = 3  # confident recent frames kept in the grid memory (FIFO)
    memory_every: int = 5  # frames between two recent-memory updates
    memory_stride: int = 2  # pixel subsampling of memory frames
    prev_weight: float = 0.3  # splat weight of the flow-warped previous frame: its own labels
    # reinforce any drift (the memory, placed by motion, is safer), but follow deformations
    centroid_places: bool = True  # place memory objects by centroid shift (else by median flow)
    memory_camera: bool = True  # move memory background pixels by the camera's motion
    camera_share: float = 0.5  # share of the memory background's weight moved by the camera (the
    # rest stays in place: under a camera that follows the object, its surroundings stay in view)
    camera_model: str = "affine"  # the camera's motion: "median" flow | "affine" | "homography" (RANSAC)
    given_weight: float = 2.0  # splat weight of a given frame (the previous frame has 1)
    recent_weight: float = 0.5  # splat weight of a recent frame
    memory_confidence: float = 0.8  # mean max-probability over objects needed to store a frame
    color_bins: int = 16  # bins per Lab channel of the global colour models
    color_weight: float = 1.0  # weight of the global colour log-likelihood ratio
    sharpen: float = 2.0  # exponent on the probabilities fed back as the next frame's prior
    full_slice: bool = False  # redo the fusion at full resolution (grid sliced per pixel colour)
    guided_radius: int = 4  # guided-filter window radius (0 = bilinear upsampling only)
    guided_eps: float = 1e-3  # guided-filter regulariser (intensities in 0..1)
    feedback_raw: bool = True  # feed back the fused probabilities (True) or the edge-snapped ones
    hole_fraction: float = 0.05  # holes inside an object smaller than this fraction of its area are filled
    lost_fraction: float = 0.05  # area under this fraction of the reference: the object is lost
    reacquire_fraction: float = 0.3  # a lost object comes back with between this fraction of its
    # area and its inverse
    reacquire_llr: float = 1.5  # ... and a mean colour log-likelihood ratio at least this
    reacquire_radius: float = 1.5  # ... within this many object sizes of where it was last seen
    # (camera motion followed; 0 = anywhere)
    reacquire_growth: float = 0.1  # ... plus this many object sizes per frame it has been lost

    def __post_init__(self) -> None:
        if self.flow_preset not in ("ultrafast", "fast", "medium"):
            raise InputError(f"unknown flow preset {self.flow_preset!r} (choose from ultrafast, fast, medium)")
        if self.work_width < 8 or self.grid_cell < 1 or min(self.grid_levels) < 1 or self.grid_ab_step < 1:
            raise InputError("work_width must be >= 8 and the grid's cell, levels and ab step >= 1")
        if self.camera_model not in ("median", "affine", "homography"):
            raise InputError(f"unknown camera model {self.camera_model!r} (choose from median, affine, homography)")
        if not 0.0 <= self.camera_share <= 1.0 or self.hole_fraction < 0 or self.reacquire_radius < 0:
            raise InputError("camera_share must be in [0, 1], hole_fraction and reacquire_radius >= 0")
        if not 0.0 <= self.prior_floor < 0.5 or not 0.0 <= self.rigid_mix <= 1.0:
            raise InputError("prior_floor must be in [0, 0.5) and rigid_mix in [0, 1]")

    def make_tracker(self) -> ClassicalTracker:
        """A new classical tracker with these settings."""
        from vidseg.vos.classical.tracker import ClassicalTracker

        return ClassicalTracker(self)


CLASSICAL_PRESETS: dict[str, ClassicalConfig] = {
    # lengths scale with the working width (427 px: cell 28, blur 2.5, guided radius 4)
    "fast": ClassicalConfig(name="fast", work_width=320, flow_preset="ultrafast", grid_cell=21, prior_blur=1.9,
                        guided_radius=3),
    "default": ClassicalConfig(name="default"),
    "accurate": ClassicalConfig(name="accurate", work_width=854, grid_cell=56, prior_blur=5.0, guided_radius=4),
}


def get_classical_preset(name: str) -> ClassicalConfig:
    """The classical engine's preset called ``name`` (``fast``, ``default``, ``accurate``);
    :class:`InputError` naming the choices otherwise."""
    try:
        return CLASSICAL_PRESETS[name]
    except KeyError:
        raise InputError(f"unknown classical preset {name!r} (choose from {', '.join(CLASSICAL_PRESETS)})") from None
