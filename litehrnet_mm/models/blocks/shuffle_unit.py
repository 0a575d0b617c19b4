"""The NAIVE block of Lite-HRNet: a stride-1 ShuffleNetV2 unit."""
import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from .channel_shuffle import channel_shuffle, split_halves
from .checkpoint import checkpointed, use_checkpoint


class ShuffleUnit(BaseModule):
    """ShuffleNetV2 unit with stride 1 (Ma et al., 2018).

    Split the channels in halves; the first passes unchanged, the second goes through 1x1 conv
    (BN, ReLU), depthwise 3x3 conv (BN), 1x1 conv (BN, ReLU); concatenate and channel-shuffle.

    Args:
        channels (int): Input and output channels (even).
        conv_cfg, norm_cfg, act_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing.
    """

    def __init__(self, channels: int, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), with_cp=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        half = channels // 2
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.branch2 = nn.Sequential(
            ConvModule(half, half, 1, act_cfg=act_cfg, **layer),
            ConvModule(half, half, 3, padding=1, groups=half, act_cfg=None, **layer),
            ConvModule(half, half, 1, act_cfg=act_cfg, **layer))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = split_halves(x)
        return channel_shuffle(torch.cat([x1, self.branch2(x2)], dim=1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if use_checkpoint(self.with_cp):
            return checkpointed(self, self._forward, x)
        return self._forward(x)
