"""One high-resolution module: blocks on every branch, then the cross-branch fuse."""
from typing import List, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from .conditional_channel_weighting import ConditionalChannelWeighting
from .fusion import fuse, make_fuse_layers
from .shuffle_unit import ShuffleUnit

MODULE_TYPES = ('LITE', 'NAIVE')


class LiteHRModule(BaseModule):
    """A Lite-HRNet module over ``len(in_channels)`` parallel branches.

    LITE: ``num_blocks`` conditional channel weighting blocks, each across all branches.
    NAIVE: ``num_blocks`` shuffle units per branch. Then, with ``with_fuse``, every output
    branch sums all input branches resampled to its resolution (HRNet's exchange unit).

    Args:
        in_channels (Sequence[int]): Channels of each branch.
        num_blocks (int): Blocks per module.
        reduce_ratio (int): Reduction ratio of the cross-resolution weighting (LITE).
        module_type (str): ``'LITE'`` or ``'NAIVE'``.
        with_fuse (bool): Exchange information between branches.
    """

    def __init__(self, in_channels: Sequence[int], num_blocks: int, reduce_ratio: int,
                 module_type: str, with_fuse: bool = True, conv_cfg=None,
                 norm_cfg=dict(type='BN'), with_cp=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.num_branches = len(in_channels)
        self.module_type = module_type.upper()
        self.with_fuse = with_fuse
        if self.module_type == 'LITE':
            self.layers = nn.Sequential(*[
                ConditionalChannelWeighting(self.in_channels, reduce_ratio, conv_cfg=conv_cfg,
                                            norm_cfg=norm_cfg, with_cp=with_cp)
                for _ in range(num_blocks)
            ])
        elif self.module_type == 'NAIVE':
            self.layers = nn.ModuleList([
                nn.Sequential(*[
                    ShuffleUnit(c, conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp)
                    for _ in range(num_blocks)
                ]) for c in self.in_channels
            ])
        else:
            raise ValueError(f'module_type must be one of {MODULE_TYPES}, got {module_type!r}')
        if with_fuse and self.num_branches > 1:
            self.fuse_layers = make_fuse_layers(self.in_channels, conv_cfg, norm_cfg)
            self.relu = nn.ReLU()

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.module_type == 'LITE':
            out = self.layers(list(x))
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        if self.with_fuse and self.num_branches > 1:
            out = fuse(self.fuse_layers, out)
        return out
