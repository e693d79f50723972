"""The primary-object (saliency) head in torch (training only; inference runs its ONNX graph).

On the frozen EfficientNet-Lite0 features (strides 4/8/16) it predicts, per pixel at stride 4,
the logit that the pixel belongs to the video's main object: the stride-16 features with a
global context vector (what the whole frame holds, so "main" is judged against the rest), then
two upsampling steps with skip connections at strides 8 and 4, as the engine's mask decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.train.engine_net import F4, F8, F16, ResBlock, conv3


class SaliencyHead(nn.Module):
    """Backbone features ``(f4, f8, f16)`` -> main-object logits (N, 1, H/4, W/4)."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.reduce16 = nn.Conv2d(F16, width, 1)
        self.context = nn.Conv2d(width, width, 1)
        self.fuse16 = conv3(2 * width, width)
        self.res16 = ResBlock(width)
        self.wide16 = nn.Conv2d(width, width, 3, padding=2, dilation=2)
        self.skip8 = nn.Conv2d(F8, 24, 1)
        self.fuse8 = conv3(width + 24, 40)
        self.skip4 = nn.Conv2d(F4, 16, 1)
        self.fuse4 = conv3(40 + 16, 24)
        self.out = conv3(24, 1)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.reduce16(f16))
        ctx = F.relu(self.context(x.mean(dim=(2, 3), keepdim=True))).expand_as(x)
        x = self.res16(F.relu(self.fuse16(torch.cat([x, ctx], 1))))
        x = x + F.relu(self.wide16(x))
        x = F.interpolate(x, size=f8.shape[-2:], mode="bilinear", align_corners=False)
        x = F.relu(self.fuse8(torch.cat([x, F.relu(self.skip8(f8))], 1)))
        x = F.interpolate(x, size=f4.shape[-2:], mode="bilinear", align_corners=False)
        x = F.relu(self.fuse4(torch.cat([x, F.relu(self.skip4(f4))], 1)))
        return self.out(x)
