"""The transition into a stage: adapt the widths of existing branches, add new branches."""
from typing import List, Optional, Sequence

import torch
from torch import nn

from .separable_conv import SeparableConvNorm


class Transition(nn.ModuleList):
    """``self[i]`` makes branch i of the next stage.

    An existing branch keeps its features (``nn.Identity``) or, when its width changes, gets a
    depthwise-separable 3x3 conv. A new branch is made from the last existing one by a chain of
    stride-2 depthwise-separable convs. Layout and names are MMPose's (``transition0.2.0.0``).

    Args:
        in_channels (Sequence[int]): Widths of the branches coming in.
        out_channels (Sequence[int]): Widths of the branches going out (at least as many).
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int],
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN')):
        layers: List[nn.Module] = []
        last = in_channels[-1]
        for i, out_c in enumerate(out_channels):
            if i < len(in_channels):
                layers.append(nn.Identity() if out_c == in_channels[i] else SeparableConvNorm(
                    in_channels[i], out_c, 1, conv_cfg, norm_cfg, relu=True))
            else:
                links = i + 1 - len(in_channels)
                layers.append(nn.Sequential(*[
                    SeparableConvNorm(last, out_c if k == links - 1 else last, 2, conv_cfg,
                                      norm_cfg, relu=True) for k in range(links)
                ]))
        super().__init__(layers)
        self.in_channels = list(in_channels)
        self.out_channels = list(out_channels)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        last = len(x) - 1
        return [layer(x[min(i, last)]) for i, layer in enumerate(self)]
