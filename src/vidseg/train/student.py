"""The student: a microcontroller-sized encoder-decoder of depthwise-separable convolutions.

Built for TensorFlow Lite Micro on a Cortex-M7 (Arduino Portenta H7, 320x240 grayscale): only
CONV_2D, DEPTHWISE_CONV_2D, ADD, RESIZE_BILINEAR and LOGISTIC/SOFTMAX after conversion; the
first convolution has stride 2 and few channels so the largest activation stays small in int8
(the tensor arena), and there are tens of thousands of weights (the flash).

Encoder: 3x3 stride-2 stem, then depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, batch
norm, ReLU) at strides 4, 8 and 16, two more at stride 16 (one dilated, for context). Decoder:
bilinear x2 plus a 1x1 lateral of the stride-8 and stride-4 features (added), a depthwise-separable
block after each, a 1x1 head at stride 4, bilinear to the output size (full or half).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.errors import ArgumentError
from vidseg.train.nets import NetSpec, resize_logits

#: arch -> (stem, stride 4, stride 8, stride 16, decoder at stride 8, decoder at stride 4)
WIDTHS: dict[str, tuple[int, int, int, int, int, int]] = {
    "tiny": (8, 16, 32, 48, 32, 16),
    "small": (12, 24, 48, 64, 40, 24),
}


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


def dw_separable(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 depthwise (stride, dilation) + 1x1 pointwise, each with batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, padding=dilation, dilation=dilation, groups=cin, bias=False), *_bn_relu(cin),
        nn.Conv2d(cin, cout, 1, bias=False), *_bn_relu(cout))


class StudentNet(nn.Module):
    """See the module docstring; ``spec.arch`` is one of :data:`WIDTHS`."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        if spec.arch not in WIDTHS:
            raise ArgumentError(f"student arch must be one of {', '.join(WIDTHS)}, got {spec.arch!r}")
        self.spec = spec
        c0, c4, c8, c16, d8, d4 = WIDTHS[spec.arch]
        self.stem = nn.Sequential(nn.Conv2d(spec.channels_in, c0, 3, 2, 1, bias=False), *_bn_relu(c0))
        self.enc4 = dw_separable(c0, c4, 2)
        self.enc8 = dw_separable(c4, c8, 2)
        self.enc16 = nn.Sequential(dw_separable(c8, c16, 2), dw_separable(c16, c16, 1, 2), dw_separable(c16, c16))
        self.up8 = nn.Conv2d(c16, d8, 1)
        self.lat8 = nn.Conv2d(c8, d8, 1)
        self.dec8 = dw_separable(d8, d8)
        self.up4 = nn.Conv2d(d8, d4, 1)
        self.lat4 = nn.Conv2d(c4, d4, 1)
        self.dec4 = dw_separable(d4, d4)
        self.head = nn.Conv2d(d4, spec.channels_out, 1)

    def param_groups(self, lr: float) -> list[dict]:
        return [{"params": list(self.parameters()), "lr": lr, "base_lr": lr}]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.enc4(self.stem(x))
        f8 = self.enc8(f4)
        f16 = self.enc16(f8)
        x = F.interpolate(self.up8(f16), scale_factor=2.0, mode="bilinear", align_corners=False) + self.lat8(f8)
        x = self.dec8(x)
        x = F.interpolate(self.up4(x), scale_factor=2.0, mode="bilinear", align_corners=False) + self.lat4(f4)
        logits = self.head(self.dec4(x))
        w, h = self.spec.output_size
        return resize_logits(logits, (h, w))
