"""What the segmentation networks share: the spec that rebuilds one from a checkpoint, the input
convention, and the wrapper that adds the output activation for export.

Every network takes ``(N, C, H, W)`` float32 in 0..1 (``C`` = 1 for grayscale, 3 for RGB) and
gives logits: one channel (sigmoid) for one class, ``classes + 1`` channels (softmax) for several.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


@dataclass
class NetSpec:
    """Enough to rebuild a network: its kind (``teacher`` / ``student``), architecture, classes,
    input size ``(width, height)``, grayscale input and output resolution (``full`` / ``half``)."""

    kind: str
    arch: str
    classes: list[str] = field(default_factory=lambda: ["object"])
    size: tuple[int, int] = (320, 240)
    gray: bool = False
    out_res: str = "full"

    @property
    def channels_in(self) -> int:
        return 1 if self.gray else 3

    @property
    def channels_out(self) -> int:
        return 1 if len(self.classes) <= 1 else len(self.classes) + 1

    @property
    def output_size(self) -> tuple[int, int]:
        w, h = self.size
        return (w // 2, h // 2) if self.out_res == "half" else (w, h)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = list(self.size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetSpec:
        return cls(**{**d, "size": tuple(d["size"])})


def build_net(spec: NetSpec, *, pretrained: bool = True, finetune: bool = False) -> nn.Module:
    """The network ``spec`` describes (the teacher's backbone with ImageNet weights when
    ``pretrained``, trained too when ``finetune``)."""
    if spec.kind == "teacher":
        from vidseg.train.teacher import TeacherNet

        return TeacherNet(spec, pretrained=pretrained, finetune=finetune)
    from vidseg.train.student import StudentNet

    return StudentNet(spec)


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid of one channel, softmax over several."""
    return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)


class WithProbabilities(nn.Module):
    """``net`` followed by its output activation: what is exported and deployed."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return probabilities(self.net(x))


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``logits`` to ``size`` = ``(height, width)`` (no-op when equal)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
