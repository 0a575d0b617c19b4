"""One high-resolution module: blocks on every branch, then the exchange between branches."""
from typing import Dict, List, Optional, Sequence, Type

import torch
from mmengine.model import BaseModule
from torch import nn

from .conditional_channel_weighting import ConditionalChannelWeighting
from .fuse_layers import FuseLayers
from .shuffle_unit import ShuffleUnit

#: ``module_type`` of MMPose's ``extra`` -> the block class.
BLOCK_TYPES: Dict[str, Type[nn.Module]] = {
    'LITE': ConditionalChannelWeighting,
    'NAIVE': ShuffleUnit,
}


class ParallelBranches(nn.ModuleList):
    """``self[i]`` runs on branch i alone (the NAIVE blocks, one chain per branch)."""

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return [branch(s) for branch, s in zip(self, x)]


def _lite_blocks(channels, num_blocks, reduce_ratio, **layer) -> nn.Module:
    """LITE: each block spans all branches (its cross-resolution weighting mixes them)."""
    return nn.Sequential(*[ConditionalChannelWeighting(channels, reduce_ratio, **layer)
                           for _ in range(num_blocks)])


def _naive_blocks(channels, num_blocks, reduce_ratio, **layer) -> nn.Module:
    """NAIVE: a chain of shuffle units per branch (``reduce_ratio`` unused)."""
    return ParallelBranches([nn.Sequential(*[ShuffleUnit(c, **layer) for _ in range(num_blocks)])
                             for c in channels])


_BUILD_BLOCKS = {'LITE': _lite_blocks, 'NAIVE': _naive_blocks}


class LiteHRModule(BaseModule):
    """A Lite-HRNet module over ``len(channels)`` parallel branches.

    ``num_blocks`` blocks of ``block`` type (LITE: conditional channel weighting across all
    branches; NAIVE: shuffle units per branch), then, with ``with_fuse``, every output branch
    sums all input branches resampled to its resolution (HRNet's exchange unit).

    Args:
        channels (Sequence[int]): Channels of each branch.
        num_blocks (int): Blocks per module.
        reduce_ratio (int): Reduction ratio of the cross-resolution weighting (LITE).
        block (str): ``'LITE'`` or ``'NAIVE'`` (MMPose's ``module_type``).
        with_fuse (bool): Exchange information between branches.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing of every block.
    """

    def __init__(self, channels: Sequence[int], num_blocks: int, reduce_ratio: int,
                 block: str, with_fuse: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if block not in _BUILD_BLOCKS:
            raise ValueError(f'block must be one of {tuple(_BUILD_BLOCKS)}, got {block!r}')
        self.channels = list(channels)
        self.layers = _BUILD_BLOCKS[block](self.channels, num_blocks, reduce_ratio,
                                           conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                           with_cp=with_cp)
        self.fuse_layers = FuseLayers(self.channels, conv_cfg, norm_cfg) \
            if with_fuse and len(self.channels) > 1 else nn.Identity()

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return self.fuse_layers(self.layers(list(x)))
