"""Layers that move features between resolutions: stage transitions and HRNet fuse layers.

The layer layout (``nn.Sequential`` of conv and norm, ``None`` where nothing is done) is MMPose's,
so that the state-dict keys of published checkpoints match. Resampling to another branch always
targets that branch's exact size, so odd input sizes work.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import nn

from .resample import upsample_to


def _dw_pw(in_channels, out_channels, stride, conv_cfg, norm_cfg, relu):
    """Depthwise 3x3 (stride) + norm + 1x1 + norm (+ ReLU)."""
    layers = [
        build_conv_layer(conv_cfg, in_channels, in_channels, kernel_size=3, stride=stride,
                         padding=1, groups=in_channels, bias=False),
        build_norm_layer(norm_cfg, in_channels)[1],
        build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_transition(pre_channels: Sequence[int], cur_channels: Sequence[int], conv_cfg,
                    norm_cfg) -> nn.ModuleList:
    """Transition into a stage with more branches.

    An existing branch whose width changes gets a depthwise-separable 3x3 conv; a new branch
    is made from the last existing one by a chain of stride-2 depthwise-separable convs.
    """
    layers: List[Optional[nn.Module]] = []
    for i, out_c in enumerate(cur_channels):
        if i < len(pre_channels):
            layers.append(None if out_c == pre_channels[i] else
                          _dw_pw(pre_channels[i], out_c, 1, conv_cfg, norm_cfg, relu=True))
        else:
            last = pre_channels[-1]
            n = i + 1 - len(pre_channels)
            layers.append(nn.Sequential(*[
                _dw_pw(last, out_c if k == n - 1 else last, 2, conv_cfg, norm_cfg, relu=True)
                for k in range(n)
            ]))
    return nn.ModuleList(layers)


def run_transition(transition: nn.ModuleList, x: List[torch.Tensor]) -> List[torch.Tensor]:
    out = []
    for i, layer in enumerate(transition):
        src = x[min(i, len(x) - 1)]
        out.append(src if layer is None else layer(src))
    return out


class UpsampleTo(nn.Module):
    """Marks the nearest upsampling step of a fuse path (applied to the target's exact size)."""

    def __init__(self, scale_factor: int):
        super().__init__()
        self.scale_factor = scale_factor

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        return upsample_to(x, size, self.scale_factor, mode='nearest')

    def extra_repr(self) -> str:
        return f'scale_factor={self.scale_factor}'


def make_fuse_layers(channels: Sequence[int], conv_cfg, norm_cfg) -> nn.ModuleList:
    """HRNet exchange units: ``fuse[i][j]`` maps branch j onto branch i.

    j > i: 1x1 conv + norm + nearest upsampling; j < i: i - j stride-2 depthwise-separable convs
    (ReLU between them, not after the last); j == i: ``None``.
    """
    fuse = []
    for i, ci in enumerate(channels):
        row: List[Optional[nn.Module]] = []
        for j, cj in enumerate(channels):
            if j > i:
                row.append(nn.Sequential(
                    build_conv_layer(conv_cfg, cj, ci, kernel_size=1, bias=False),
                    build_norm_layer(norm_cfg, ci)[1],
                    UpsampleTo(2**(j - i))))
            elif j == i:
                row.append(None)
            else:
                n = i - j
                row.append(nn.Sequential(*[
                    _dw_pw(cj, ci if k == n - 1 else cj, 2, conv_cfg, norm_cfg,
                           relu=k != n - 1) for k in range(n)
                ]))
        fuse.append(nn.ModuleList(row))
    return nn.ModuleList(fuse)


def _apply(path: nn.Sequential, x: torch.Tensor, size) -> torch.Tensor:
    """Run one fuse path; an upsampling path lands on ``size`` exactly."""
    if isinstance(path[-1], UpsampleTo):
        return path[-1](path[1](path[0](x)), size)
    return path(x)


def fuse(fuse_layers: nn.ModuleList, x: List[torch.Tensor]) -> List[torch.Tensor]:
    """Exchange information between branches, exactly as the reference implementation does.

    The reference adds branch 0 into output 0 *in place*: ``y = out[0]; y += out[0]; ...``
    Output 0 (before its ReLU) therefore counts branch 0 twice, and it replaces branch 0 for
    every later output, whose path from branch 0 is also run twice. Trained checkpoints depend
    on this, so it is reproduced here, without in-place writes: ``z0`` is that modified branch
    0, and in training the doubled path is run twice so that BatchNorm statistics are updated
    twice, as in the reference.
    """
    n = len(x)
    z0 = x[0] + x[0]
    for j in range(1, n):
        z0 = z0 + _apply(fuse_layers[0][j], x[j], x[0].shape[-2:])
    out = [F.relu(z0)]
    for i in range(1, len(fuse_layers)):
        size = x[i].shape[-2:]
        first = _apply(fuse_layers[i][0], z0, size)
        if fuse_layers.training:
            y = first + _apply(fuse_layers[i][0], z0, size)
        else:
            y = first + first
        for j in range(1, n):
            y = y + (x[j] if j == i else _apply(fuse_layers[i][j], x[j], size))
        out.append(F.relu(y))
    return out
