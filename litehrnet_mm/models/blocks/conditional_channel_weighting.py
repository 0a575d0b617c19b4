"""Conditional channel weighting, the LITE block of Lite-HRNet (Yu et al., CVPR 2021, Sec. 3.3).

It replaces the costly 1x1 convolutions of a shuffle block with two weightings computed from the
features themselves: a cross-resolution weighting H over all branches, and a per-branch spatial
weighting F. Module names follow MMPose's implementation so that checkpoints load unchanged.
"""
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from .channel_shuffle import shuffle_concat, split_halves
from .grad_checkpoint import run_maybe_checkpointed
from .resample import pool_to, upsample_to

#: Reduction ratio of the spatial weighting's squeeze-excitation (fixed by the architecture).
SPATIAL_REDUCE_RATIO = 4


class CrossResolutionWeighting(BaseModule):
    """H: channel weights for every branch, computed from all branches at once.

    Each branch is average-pooled to the smallest branch's size, all are concatenated, passed
    through 1x1 conv (BN, ReLU) to ``sum / reduce_ratio`` channels and 1x1 conv (BN, Sigmoid)
    back, split per branch, and each weight map is nearest-upsampled onto its branch and
    multiplied.

    Args:
        channels (Sequence[int]): Channels of each branch.
        reduce_ratio (int): Reduction ratio of the hidden layer.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
    """

    def __init__(self, channels: Sequence[int], reduce_ratio: int,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.channels = list(channels)
        total = sum(self.channels)
        hidden = int(total / reduce_ratio)
        self.conv1 = ConvModule(total, hidden, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=dict(type='ReLU'))
        self.conv2 = ConvModule(hidden, total, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=dict(type='Sigmoid'))

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        last = len(x) - 1
        smallest = x[-1].shape[-2:]
        pooled = [pool_to(s, smallest, 2**(last - i)) for i, s in enumerate(x)]
        weights = self.conv2(self.conv1(torch.cat(pooled, dim=1)))
        weights = torch.split(weights, self.channels, dim=1)
        return [s * upsample_to(w, s.shape[-2:], 2**(last - i), mode='nearest')
                for i, (s, w) in enumerate(zip(x, weights))]


class SpatialWeighting(BaseModule):
    """F: squeeze-and-excitation on one branch.

    Global average pool, 1x1 conv (bias, ReLU) to ``channels / reduce_ratio``, 1x1 conv (bias,
    Sigmoid), multiply. ``mean`` over the spatial axes exports, unlike an adaptive pool.

    Args:
        channels (int): Channels of the branch.
        reduce_ratio (int): Reduction ratio of the hidden layer.
        conv_cfg (dict): OpenMMLab conv config (the reference uses no norm here).
    """

    def __init__(self, channels: int, reduce_ratio: int = SPATIAL_REDUCE_RATIO,
                 conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(channels / reduce_ratio)
        self.conv1 = ConvModule(channels, hidden, 1, conv_cfg=conv_cfg,
                                act_cfg=dict(type='ReLU'))
        self.conv2 = ConvModule(hidden, channels, 1, conv_cfg=conv_cfg,
                                act_cfg=dict(type='Sigmoid'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(x.mean((2, 3), keepdim=True)))


class ConditionalChannelWeighting(BaseModule):
    """The LITE block, over all branches of a module.

    Per branch: split the channels in halves; the first half passes unchanged; the second
    halves go through cross-resolution weighting (H, all branches together), a depthwise 3x3
    conv (BN) and spatial weighting (F); the halves are concatenated and channel-shuffled.

    Args:
        channels (Sequence[int]): Channels of each branch (each even).
        reduce_ratio (int): Reduction ratio of the cross-resolution weighting.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing of the whole block.
    """

    #: Narrowest branch: halves, whose spatial weighting divides them by 4 again.
    min_channels = 2 * SPATIAL_REDUCE_RATIO
    channels_rule = ('blocks split channels in halves, and the spatial weighting divides a '
                     f'half by {SPATIAL_REDUCE_RATIO}')

    @staticmethod
    def max_reduce_ratio(channels: Sequence[int]) -> int:
        """The cross-resolution weighting's hidden layer keeps at least one channel."""
        return sum(c // 2 for c in channels)

    def __init__(self, channels: Sequence[int], reduce_ratio: int,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        halves = [c // 2 for c in channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(
            halves, reduce_ratio, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.depthwise_convs = nn.ModuleList([
            ConvModule(c, c, 3, padding=1, groups=c, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       act_cfg=None) for c in halves
        ])
        self.spatial_weighting = nn.ModuleList(
            [SpatialWeighting(c, conv_cfg=conv_cfg) for c in halves])

    def _forward(self, *x: torch.Tensor) -> List[torch.Tensor]:
        kept, weighted = zip(*[split_halves(s) for s in x])
        weighted = self.cross_resolution_weighting(list(weighted))
        weighted = [dw(s) for s, dw in zip(weighted, self.depthwise_convs)]
        weighted = [sw(s) for s, sw in zip(weighted, self.spatial_weighting)]
        return [shuffle_concat(a, b) for a, b in zip(kept, weighted)]

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return list(run_maybe_checkpointed(self, self.with_cp, self._forward, *x))
