"""The click head in torch (training only; inference runs its ONNX graph, see
:mod:`vidseg.vos.click_head`).

Inputs: the frozen EfficientNet-Lite0 features (strides 4/8/16) and three maps at stride 4: the
object's mask before the click (0..1), positive click disks, negative click disks. At stride 16,
besides the features and the pooled maps, three similarity maps tell the head which positions
look like what the positive clicks, the negative clicks and the previous mask cover (cosine
similarity of a learned embedding to each one's mean): an object's far parts are found by
appearance, not only by reach. Then a residual and two dilated residual blocks, and two
upsampling steps with skip connections at strides 8 and 4 (as the engine's mask decoder) ->
the object's logits at stride 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.train.engine_net import F4, F8, F16, ResBlock, conv3

MAPS = 3  # previous mask, positive clicks, negative clicks
EMBED = 64


class DilatedResBlock(nn.Module):
    """Two dilated 3x3 convolutions with a skip connection (a wider reach at the same cost)."""

    def __init__(self, ch: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


def _similarity(emb: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each position's (unit) embedding to the ``weight``-weighted mean
    embedding; 0 where the weights are all 0."""
    total = weight.sum(dim=(2, 3), keepdim=True)
    proto = (emb * weight).sum(dim=(2, 3), keepdim=True) / (total + 1e-6)
    proto = proto * torch.rsqrt(proto.pow(2).sum(1, keepdim=True) + 1e-8)
    return (emb * proto).sum(1, keepdim=True) * (total > 1e-3).float()


class ClickHead(nn.Module):
    """``(f4, f8, f16, maps4)`` -> the clicked object's logits (N, 1, H/4, W/4)."""

    def __init__(self, width: int = 96) -> None:
        super().__init__()
        self.embed = nn.Conv2d(F16, EMBED, 1)
        self.fuse16 = conv3(F16 + MAPS + 3, width)
        self.res16 = ResBlock(width)
        self.wide16a = DilatedResBlock(width, 2)
        self.wide16b = DilatedResBlock(width, 4)
        self.skip8 = nn.Conv2d(F8, 32, 1)
        self.fuse8 = conv3(width + 32 + MAPS, 48)
        self.res8 = ResBlock(48)
        self.skip4 = nn.Conv2d(F4, 16, 1)
        self.fuse4 = conv3(48 + 16 + MAPS, 32)
        self.res4 = ResBlock(32)
        self.out = conv3(32, 1)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor, maps4: torch.Tensor) -> torch.Tensor:
        maps8 = F.avg_pool2d(maps4, 2)
        maps16 = F.avg_pool2d(maps4, 4)
        emb = self.embed(f16)
        emb = emb * torch.rsqrt(emb.pow(2).sum(1, keepdim=True) + 1e-8)
        sims = [_similarity(emb, maps16[:, k:k + 1]) for k in range(MAPS)]
        x = F.relu(self.fuse16(torch.cat([f16, maps16, *sims], 1)))
        x = self.wide16b(self.wide16a(self.res16(x)))
        x = F.interpolate(x, size=f8.shape[-2:], mode="bilinear", align_corners=False)
        x = self.res8(F.relu(self.fuse8(torch.cat([x, F.relu(self.skip8(f8)), maps8], 1))))
        x = F.interpolate(x, size=f4.shape[-2:], mode="bilinear", align_corners=False)
        x = self.res4(F.relu(self.fuse4(torch.cat([x, F.relu(self.skip4(f4)), maps4], 1))))
        return self.out(F.relu(x))
