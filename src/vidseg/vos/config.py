"""Tracker settings and the named presets (``fast``, ``default``, ``accurate``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from vidseg.errors import InputError


@dataclass(frozen=True)
class TrackerConfig:
    """Every knob of the flow engine, :class:`~vidseg.vos.tracker.FlowTracker`.

    The engine works on a copy of each frame shrunk so that its width is ``work_width`` (flow,
    appearance, fusion) and upsamples the probabilities to full resolution at the end (through a
    fast guided filter when ``guided_radius`` > 0; measured worse on thin parts, so off by default).
    """

    name: str = "default"
    work_width: int = 427  # width of the working resolution (854x480 -> 427x240)
    flow_preset: str = "fast"  # DIS optical flow preset: "ultrafast" | "fast" | "medium"
    flow_check: bool = True  # forward-backward flow consistency check (one more flow per frame)
    fb_sigma: float = 1.5  # px (working res): scale of the forward-backward error that halves trust
    untrusted_radius: float = 0.03  # window (fraction of the frame) of the prior where the flow check fails
    prior_eps: float = 0.01  # floor of the prior probabilities in the search window
    prior_blur: float = 1.5  # px (working res): Gaussian blur of the warped probabilities
    search_radius: float = 0.15  # fraction of the object's size: window where appearance may add pixels
    color_bins: int = 16  # histogram bins per Lab channel
    color_weight: float = 0.7  # exponent of the colour likelihood ratio in the fusion
    classifier_weight: float = 2.0  # weight of the learned pixel classifier's log-odds; 0 = off
    classifier_samples: int = 3000  # training pixels per class from the given mask
    classifier_recent_samples: int = 1500  # ... and from each confident frame kept in memory
    classifier_scale: float = 0.5  # the classifier runs at this fraction of the working resolution
    band_width: float = 0.25  # local background band around an object, fraction of its size
    local_bg_weight: float = 0.7  # weight of the band vs the whole frame in the background model
    memory_size: int = 4  # appearance models per object: the given one + (memory_size-1) recent
    memory_every: int = 10  # frames between memory updates (only confident frames are stored)
    memory_given_weight: float = 2.0  # weight of the given frame's pixels when the classifier relearns
    memory_weight: float = 0.3  # weight of the recent models vs the given one
    bilateral_weight: float = 1.0  # weight of the local colour classifier (bilateral grid); 0 = off
    bilateral_warp: bool = False  # splat the flow-warped previous frame (True) or the previous frame
    bilateral_cell: int = 16  # px (working res): spatial cell of the bilateral grid
    bilateral_bits: tuple[int, int, int] = (4, 2, 2)  # bits of L, a, b kept by the grid
    guided_radius: int = 0  # px (working res): guided-filter window radius; 0 = plain bilinear
    guided_eps: float = 1e-3  # guided-filter regulariser (intensities in [0, 1])
    sharpen: float = 2.0  # exponent on the probabilities fed back as the next frame's prior
    lost_fraction: float = 0.1  # area below this fraction of the reference area: object lost
    reacquire_fraction: float = 0.3  # a lost object comes back only with this fraction of its area
    reacquire_score: float = 1.0  # ... and mean colour log-likelihood ratio at least this
    max_growth: float = 1.6  # area beyond this multiple of the reference keeps only the likeliest pixels


PRESETS: dict[str, TrackerConfig] = {
    "fast": TrackerConfig(name="fast", work_width=320, flow_preset="ultrafast", flow_check=False,
                          bilateral_cell=12),
    "default": TrackerConfig(name="default"),
    "accurate": TrackerConfig(name="accurate", work_width=512, flow_preset="medium", bilateral_cell=19,
                              memory_every=5),
}


def get_preset(name: str) -> TrackerConfig:
    """The preset called ``name``; :class:`InputError` naming the choices for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        choices = ", ".join(PRESETS)
        raise InputError(f"unknown tracker preset {name!r} (choose from {choices})") from None


def resolve_config(config: TrackerConfig | str) -> TrackerConfig:
    """A config given as itself or by preset name."""
    return get_preset(config) if isinstance(config, str) else replace(config)
