"""IterativeHead of Lite-HRNet: refine each resolution with the one below it."""
from typing import List, Sequence

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import nn

from .resample import upsample_to


class IterativeHead(BaseModule):
    """From the lowest resolution up: add the bilinearly upsampled previous result, then a
    depthwise-separable 3x3 conv (dw: BN; pw: BN, ReLU) to the next branch's width.

    With ``in_channels=(40, 80, 160, 320)`` the projections are 320->160, 160->80, 80->40 and
    40->40, and the outputs (highest resolution first) have 40, 40, 80, 160 channels.

    Args:
        in_channels (Sequence[int]): Channels of the branches, highest resolution first.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: Sequence[int], norm_cfg=dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        rev = list(in_channels)[::-1]
        self.in_channels = rev
        outs = rev[1:] + rev[-1:]
        self.out_channels = outs[::-1]
        self.projects = nn.ModuleList([
            DepthwiseSeparableConvModule(
                cin, cout, 3, stride=1, padding=1, norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU'), dw_act_cfg=None, pw_act_cfg=dict(type='ReLU'))
            for cin, cout in zip(rev, outs)
        ])

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        y = []
        last = None
        for s, project in zip(list(x)[::-1], self.projects):
            if last is not None:
                s = s + upsample_to(last, s.shape[-2:], 2, mode='bilinear',
                                    align_corners=True)
            last = project(s)
            y.append(last)
        return y[::-1]
