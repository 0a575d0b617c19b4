"""The Lite-HRNet stem: a stride-2 conv, then a stride-2 ShuffleNetV2-style two-way unit."""
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from .channel_shuffle import shuffle_concat, split_halves
from .grad_checkpoint import run_maybe_checkpointed


class Stem(BaseModule):
    """Stem of Lite-HRNet: output ``out_channels`` at 1/4 of the input resolution.

    ``conv1`` (3x3, stride 2) maps the image to ``stem_channels``; its output is split in halves.
    Half 1: depthwise 3x3 stride 2, then 1x1 (``branch1``). Half 2: 1x1 expand, depthwise 3x3
    stride 2, 1x1 (``expand_conv``, ``depthwise_conv``, ``linear_conv``). The halves are
    concatenated and channel-shuffled. Module names follow MMPose's ``Stem`` (checkpoint keys).

    Args:
        in_channels (int): Image channels.
        stem_channels (int): Channels after ``conv1``; must be even.
        out_channels (int): Output channels.
        expand_ratio (float): Width of the expand conv relative to ``stem_channels``.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        with_cp (bool): Gradient checkpointing.
    """

    def __init__(self, in_channels: int, stem_channels: int, out_channels: int,
                 expand_ratio: float, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.with_cp = with_cp
        relu = dict(type='ReLU')
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        self.conv1 = ConvModule(in_channels, stem_channels, 3, stride=2, padding=1,
                                act_cfg=relu, **layer)

        mid_channels = int(round(stem_channels * expand_ratio))
        branch_channels = stem_channels // 2
        if stem_channels == out_channels:
            inc_channels = out_channels - branch_channels
            linear_out = branch_channels
        else:
            inc_channels = out_channels - stem_channels
            linear_out = stem_channels

        self.branch1 = nn.Sequential(
            ConvModule(branch_channels, branch_channels, 3, stride=2, padding=1,
                       groups=branch_channels, act_cfg=None, **layer),
            ConvModule(branch_channels, inc_channels, 1, act_cfg=relu, **layer))
        self.expand_conv = ConvModule(branch_channels, mid_channels, 1, act_cfg=relu, **layer)
        self.depthwise_conv = ConvModule(mid_channels, mid_channels, 3, stride=2, padding=1,
                                         groups=mid_channels, act_cfg=None, **layer)
        self.linear_conv = ConvModule(mid_channels, linear_out, 1, act_cfg=relu, **layer)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x1, x2 = split_halves(x)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return shuffle_concat(self.branch1(x1), x2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_maybe_checkpointed(self, self.with_cp, self._forward, x)
