"""The NAIVE block of Lite-HRNet: a stride-1 ShuffleNetV2 unit."""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from .channel_shuffle import shuffle_concat, split_halves
from .grad_checkpoint import run_maybe_checkpointed


class ShuffleUnit(BaseModule):
    """ShuffleNetV2 unit with stride 1 (Ma et al., 2018).

    Split the channels in halves; the first passes unchanged, the second goes through 1x1 conv
    (BN, ReLU), depthwise 3x3 conv (BN), 1x1 conv (BN, ReLU); concatenate and channel-shuffle.

    Args:
        channels (int): Input and output channels (even).
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing.
    """

    #: Narrowest branch: the unit splits channels in halves.
    min_channels = 2
    channels_rule = 'blocks split channels in halves'

    @staticmethod
    def max_reduce_ratio(channels: Sequence[int]) -> float:
        """The NAIVE block has no reduction: any ratio is accepted (and unused)."""
        return float('inf')

    def __init__(self, channels: int, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        half = channels // 2
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        relu = dict(type='ReLU')
        self.branch2 = nn.Sequential(
            ConvModule(half, half, 1, act_cfg=relu, **layer),
            ConvModule(half, half, 3, padding=1, groups=half, act_cfg=None, **layer),
            ConvModule(half, half, 1, act_cfg=relu, **layer))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, transformed = split_halves(x)
        return shuffle_concat(kept, self.branch2(transformed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_maybe_checkpointed(self, self.with_cp, self._forward, x)
