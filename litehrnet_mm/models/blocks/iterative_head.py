"""IterativeHead of Lite-HRNet: refine each resolution with the one below it."""
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import nn

from .resample import upsample_to


class IterativeHead(BaseModule):
    """From the lowest resolution up: add the bilinearly upsampled previous result, then a
    depthwise-separable 3x3 conv (dw: BN; pw: BN, ReLU) to the next branch's width.

    With ``in_channels=(40, 80, 160, 320)`` the projections (``projects[k]``, lowest
    resolution first, as in MMPose) are 320->160, 160->80, 80->40 and 40->40, and the outputs
    (highest resolution first) have 40, 40, 80, 160 channels.

    Args:
        in_channels (Sequence[int]): Channels of the branches, highest resolution first.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
    """

    def __init__(self, in_channels: Sequence[int], conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        # projects[k] runs on branch n-1-k and maps it to the width of the branch above
        low_first = self.in_channels[::-1]
        widths = low_first[1:] + low_first[-1:]
        self.out_channels = widths[::-1]
        self.projects = nn.ModuleList([
            DepthwiseSeparableConvModule(
                cin, cout, 3, stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU'), dw_act_cfg=None, pw_act_cfg=dict(type='ReLU'))
            for cin, cout in zip(low_first, widths)
        ])

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return refine_low_to_high(x, self.projects)


def refine_low_to_high(x: Sequence[torch.Tensor], projects: Sequence[nn.Module],
                       *args) -> List[torch.Tensor]:
    """The head's pass from the lowest resolution up: each branch adds the upsampled output
    of the one below it and goes through its projection, called with ``args`` after the
    branch (outputs highest resolution first)."""
    y: List[torch.Tensor] = []
    for s, project in zip(list(x)[::-1], projects):
        if y:
            s = s + upsample_to(y[-1], s.shape[-2:], 2, mode='bilinear', align_corners=True)
        y.append(project(s, *args))
    return y[::-1]
