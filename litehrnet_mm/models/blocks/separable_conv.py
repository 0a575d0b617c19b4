"""The depthwise-separable link that transitions and fuse layers are made of."""
from typing import Optional

from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import nn


class SeparableConvNorm(nn.Sequential):
    """Depthwise 3x3 conv (``stride``) + norm + 1x1 conv + norm (+ ReLU).

    An ``nn.Sequential`` so that the layers keep MMPose's positional names (``0`` to ``3``,
    ``4`` the ReLU, which holds no weights).

    Args:
        in_channels, out_channels (int): Widths before and after.
        stride (int): Of the depthwise conv: 1 keeps the resolution, 2 halves it.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
        relu (bool): End with a ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 conv_cfg: Optional[dict], norm_cfg: dict, relu: bool):
        layers = [
            build_conv_layer(conv_cfg, in_channels, in_channels, kernel_size=3, stride=stride,
                             padding=1, groups=in_channels, bias=False),
            build_norm_layer(norm_cfg, in_channels)[1],
            build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        ]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)
