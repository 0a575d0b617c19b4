"""Conditional channel weighting, the LITE block of Lite-HRNet (Yu et al., CVPR 2021, Sec. 3.3).

It replaces the costly 1x1 convolutions of a shuffle block with two weightings computed from the
features themselves: a cross-resolution weighting H over all branches, and a per-branch spatial
weighting F. Module names follow MMPose's implementation so that checkpoints load unchanged.
"""
from typing import List, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from .channel_shuffle import channel_shuffle, split_halves
from .checkpoint import checkpointed, use_checkpoint
from .resample import pool_to, upsample_to


class CrossResolutionWeighting(BaseModule):
    """H: channel weights for every branch, computed from all branches at once.

    Each branch is average-pooled to the smallest branch's size, all are concatenated, passed
    through 1x1 conv (BN, ReLU) to ``sum/ratio`` channels and 1x1 conv (BN, Sigmoid) back, split
    per branch, and each weight map is nearest-upsampled onto its branch and multiplied.

    Args:
        channels (Sequence[int]): Channels of each branch.
        ratio (int): Reduction ratio of the hidden layer.
    """

    def __init__(self, channels: Sequence[int], ratio: int = 16, conv_cfg=None,
                 norm_cfg=None, act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.channels = list(channels)
        total = sum(self.channels)
        self.conv1 = ConvModule(total, int(total / ratio), 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(int(total / ratio), total, 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg[1])

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        last = len(x) - 1
        mini = x[-1].shape[-2:]
        pooled = [pool_to(s, mini, 2**(last - i)) for i, s in enumerate(x)]
        weights = self.conv2(self.conv1(torch.cat(pooled, dim=1)))
        out, start = [], 0
        for i, (s, c) in enumerate(zip(x, self.channels)):
            w = weights[:, start:start + c]
            start += c
            out.append(s * upsample_to(w, s.shape[-2:], 2**(last - i), mode='nearest'))
        return out


class SpatialWeighting(BaseModule):
    """F: squeeze-and-excitation on one branch.

    Global average pool, 1x1 conv (bias, ReLU) to ``channels/ratio``, 1x1 conv (bias, Sigmoid),
    multiply. ``mean`` over the spatial axes exports, unlike an adaptive pool.
    """

    def __init__(self, channels: int, ratio: int = 16, conv_cfg=None, norm_cfg=None,
                 act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = ConvModule(channels, int(channels / ratio), 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(int(channels / ratio), channels, 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(x.mean((2, 3), keepdim=True)))


class ConditionalChannelWeighting(BaseModule):
    """The LITE block, over all branches of a module.

    Per branch: split the channels in halves; the first half passes unchanged; the second
    halves go through cross-resolution weighting (H, all branches together), a depthwise 3x3
    conv (BN) and spatial weighting (F); the halves are concatenated and channel-shuffled.

    Args:
        in_channels (Sequence[int]): Channels of each branch (each even).
        reduce_ratio (int): Reduction ratio of the cross-resolution weighting.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing of the whole block.
    """

    def __init__(self, in_channels: Sequence[int], reduce_ratio: int, conv_cfg=None,
                 norm_cfg=dict(type='BN'), with_cp=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        halves = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(
            halves, ratio=reduce_ratio, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.depthwise_convs = nn.ModuleList([
            ConvModule(c, c, 3, padding=1, groups=c, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=None) for c in halves
        ])
        self.spatial_weighting = nn.ModuleList([SpatialWeighting(c, ratio=4) for c in halves])

    def _forward(self, *x: torch.Tensor) -> List[torch.Tensor]:
        x1, x2 = zip(*[split_halves(s) for s in x])
        x2 = self.cross_resolution_weighting(list(x2))
        x2 = [dw(s) for s, dw in zip(x2, self.depthwise_convs)]
        x2 = [sw(s) for s, sw in zip(x2, self.spatial_weighting)]
        return [channel_shuffle(torch.cat([a, b], dim=1), 2) for a, b in zip(x1, x2)]

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if use_checkpoint(self.with_cp):
            return list(checkpointed(self, self._forward, *x))
        return self._forward(*x)
