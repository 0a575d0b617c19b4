"""HRNet's exchange unit, as Lite-HRNet's reference code computes it.

The layer layout (rows of paths, ``nn.Sequential`` of conv and norm, nothing stored on the
diagonal) is MMPose's, so that the state-dict keys of published checkpoints match. Resampling to
another branch always targets that branch's exact size, so odd input sizes work.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import nn

from .resample import upsample_to
from .separable_conv import SeparableConvNorm

Size = Sequence[int]


class Upsample(nn.Module):
    """Nearest upsampling by ``factor``, landing on the target's exact size."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor, size: Size) -> torch.Tensor:
        return upsample_to(x, size, self.factor, mode='nearest')

    def extra_repr(self) -> str:
        return f'factor={self.factor}'


class UpsamplePath(nn.Sequential):
    """From a lower resolution: 1x1 conv, norm, nearest upsampling by ``factor``."""

    def __init__(self, in_channels: int, out_channels: int, factor: int,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN')):
        super().__init__(
            build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            Upsample(factor))

    def forward(self, x: torch.Tensor, size: Size) -> torch.Tensor:
        conv, norm, upsample = self
        return upsample(norm(conv(x)), size)


class DownsamplePath(nn.Sequential):
    """From a higher resolution: ``links`` stride-2 depthwise-separable convs, ReLU between
    them, not after the last."""

    def __init__(self, in_channels: int, out_channels: int, links: int,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN')):
        super().__init__(*[
            SeparableConvNorm(in_channels, out_channels if k == links - 1 else in_channels, 2,
                              conv_cfg, norm_cfg, relu=k != links - 1) for k in range(links)
        ])

    def forward(self, x: torch.Tensor, size: Size) -> torch.Tensor:
        # stride-2 convs with padding 1 give ceil(h / 2): the branch sizes, for any input
        return super().forward(x)


class FuseLayers(nn.ModuleList):
    """``self[i][j]`` maps branch j onto branch i: upsampling for j > i, downsampling for
    j < i, ``nn.Identity`` on the diagonal (the branch itself is added).

    Args:
        channels (Sequence[int]): Widths of the branches.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.
    """

    def __init__(self, channels: Sequence[int], conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN')):
        rows = []
        for i, ci in enumerate(channels):
            row: List[nn.Module] = []
            for j, cj in enumerate(channels):
                if j > i:
                    row.append(UpsamplePath(cj, ci, 2**(j - i), conv_cfg, norm_cfg))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    row.append(DownsamplePath(cj, ci, i - j, conv_cfg, norm_cfg))
            rows.append(nn.ModuleList(row))
        super().__init__(rows)
        self.channels = list(channels)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        """Sum every branch onto every branch, exactly as the reference implementation does.

        The reference adds branch 0 into output 0 *in place*: ``y = out[0]; y += out[0]; ...``
        Output 0 (before its ReLU) therefore counts branch 0 twice, and it replaces branch 0
        for every later output, whose path from branch 0 is also run twice. Trained
        checkpoints depend on this, so it is reproduced here, without in-place writes: ``z0``
        is that modified branch 0; in training the doubled path is run twice, so that its
        BatchNorm statistics are updated twice as in the reference; in eval it is run once and
        doubled.
        """
        sizes = [s.shape[-2:] for s in x]
        z0 = x[0] + x[0]
        for j in range(1, len(x)):
            z0 = z0 + self[0][j](x[j], sizes[0])
        out = [F.relu(z0)]
        for i in range(1, len(self)):
            first = self[i][0](z0, sizes[i])
            y = first + (self[i][0](z0, sizes[i]) if self.training else first)
            for j in range(1, len(x)):
                y = y + (x[j] if j == i else self[i][j](x[j], sizes[i]))
            out.append(F.relu(y))
        return out
