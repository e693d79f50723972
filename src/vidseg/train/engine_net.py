"""The learned tracking engine's trainable parts in torch (training only; inference runs the
ONNX graphs exported from these modules).

The frozen EfficientNet-Lite0 backbone gives features at strides 4/8/16 (24/40/112 channels).
On top of it, as in STM / STCN:

- :class:`KeyEncoder`: stride-16 features -> a key per position, used to match a query frame
  against the memory frames (L2 similarity, softmax over memory positions).
- :class:`ValueEncoder`: one object's mask (and the other objects' masks) with the frame's
  features -> a value per stride-16 position.
- :class:`MaskDecoder`: the read-out value, the query frame's features (skip connections at
  strides 16, 8 and 4) and the previous frame's mask as a location prior -> mask logits at
  stride 4.
- :class:`MaskRefiner`: an object's stride-4 logits with the frame and its stride-4 features ->
  logits at the working resolution (thin parts the stride-4 grid cannot hold: wheels, lines,
  limbs). Trained after the rest, on the engine's own predictions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

F4, F8, F16 = 24, 40, 112
KEY_DIM = 64
VALUE_DIM = 128


def conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a skip connection."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = conv3(ch, ch)
        self.conv2 = conv3(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class KeyEncoder(nn.Module):
    """Stride-16 features -> L2-matchable keys (N, KEY_DIM, h, w)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = conv3(F16, KEY_DIM)

    def forward(self, f16: torch.Tensor) -> torch.Tensor:
        return self.proj(f16)


class ValueEncoder(nn.Module):
    """An object's stride-4 mask, the other objects' stride-4 mask and the frame's features ->
    a value map at stride 16."""

    def __init__(self) -> None:
        super().__init__()
        self.down8 = conv3(F4 + 2, 32, stride=2)
        self.down16 = conv3(32 + F8, 64, stride=2)
        self.fuse = conv3(64 + F16, VALUE_DIM)
        self.res = ResBlock(VALUE_DIM)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor, mask4: torch.Tensor,
                others4: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.down8(torch.cat([f4, mask4, others4], 1)))
        x = F.relu(self.down16(torch.cat([x, f8], 1)))
        x = F.relu(self.fuse(torch.cat([x, f16], 1)))
        return self.res(x)


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class MaskDecoder(nn.Module):
    """Read-out value + query features + previous mask -> object logits at stride 4.

    Frame sizes are multiples of 16, so each level is exactly twice the next."""

    def __init__(self) -> None:
        super().__init__()
        self.fuse16 = conv3(VALUE_DIM + F16 + 1, 96)
        self.res16 = ResBlock(96)
        self.skip8 = nn.Conv2d(F8, 32, 1)
        self.fuse8 = conv3(96 + 32 + 1, 48)
        self.res8 = ResBlock(48)
        self.skip4 = nn.Conv2d(F4, 16, 1)
        self.fuse4 = conv3(48 + 16 + 1, 24)
        self.out = conv3(24, 1)

    def forward(self, readout: torch.Tensor, f16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor,
                prev4: torch.Tensor) -> torch.Tensor:
        prev8 = F.avg_pool2d(prev4, 2)
        prev16 = F.avg_pool2d(prev4, 4)
        x = self.res16(F.relu(self.fuse16(torch.cat([readout, f16, prev16], 1))))
        x = _up2(x)
        x = self.res8(F.relu(self.fuse8(torch.cat([x, F.relu(self.skip8(f8)), prev8], 1))))
        x = _up2(x)
        x = F.relu(self.fuse4(torch.cat([x, F.relu(self.skip4(f4)), prev4], 1)))
        return self.out(x)


def memory_readout(query_key: torch.Tensor, memory_keys: torch.Tensor,
                   memory_values: torch.Tensor) -> torch.Tensor:
    """STCN's L2 read-out.

    ``query_key`` (B, C, h, w); ``memory_keys`` (B, C, M) and ``memory_values`` (B, V, M) over
    M memory positions -> (B, V, h, w): each query position's softmax-weighted memory values.
    """
    b, c, h, w = query_key.shape
    q = query_key.flatten(2)                                   # B C HW
    sim = 2 * torch.einsum("bcm,bcq->bmq", memory_keys, q) - memory_keys.pow(2).sum(1)[..., None]
    weights = torch.softmax(sim / math.sqrt(c), dim=1)        # over memory positions
    out = torch.einsum("bvm,bmq->bvq", memory_values, weights)
    return out.view(b, -1, h, w)


class MaskRefiner(nn.Module):
    """Stride-4 logits + the working frame + its stride-4 features -> logits at the frame's size.

    Two upsampling stages (stride 2, then 1), each adding a correction to the bilinear
    upsampling of the stage before; the corrections start at zero, so an untrained refiner is
    plain bilinear upsampling."""

    def __init__(self) -> None:
        super().__init__()
        self.context4 = conv3(F4 + 1, 16)
        self.image2 = conv3(3, 16, stride=2)
        self.fuse2 = conv3(16 + 16 + 1, 16)
        self.mix2 = conv3(16, 16)
        self.out2 = conv3(16, 1)
        self.image1 = conv3(3, 8)
        self.fuse1 = conv3(16 + 8 + 1, 8)
        self.out1 = conv3(8, 1)
        for layer in (self.out2, self.out1):
            nn.init.zeros_(layer.weight)
            assert layer.bias is not None
            nn.init.zeros_(layer.bias)

    def forward(self, image: torch.Tensor, logits4: torch.Tensor, f4: torch.Tensor) -> torch.Tensor:
        """``image`` (N, 3, H, W) as the backbone takes it ((rgb - 127) / 128), ``logits4``
        (N, 1, H/4, W/4), ``f4`` (N, 24, H/4, W/4) -> logits (N, 1, H, W)."""
        x4 = F.relu(self.context4(torch.cat([f4, _squash(logits4)], 1)))
        up = _up2(logits4)
        x2 = F.relu(self.fuse2(torch.cat([_up2(x4), F.relu(self.image2(image)), _squash(up)], 1)))
        x2 = F.relu(self.mix2(x2))
        logits2 = up + self.out2(x2)
        up = _up2(logits2)
        x1 = F.relu(self.fuse1(torch.cat([_up2(x2), F.relu(self.image1(image)), _squash(up)], 1)))
        return up + self.out1(x1)


def _squash(logits: torch.Tensor) -> torch.Tensor:
    """Logits as a bounded input (the gates push dropped parts to -8 and beyond)."""
    return logits.clamp(-10.0, 10.0) / 5.0


class EngineNet(nn.Module):
    """The three trainable parts together (what a checkpoint holds)."""

    def __init__(self) -> None:
        super().__init__()
        self.key = KeyEncoder()
        self.value = ValueEncoder()
        self.decoder = MaskDecoder()


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
