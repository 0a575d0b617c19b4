"""The IterativeHead as a neck, for backbones built with ``with_head=False`` (ours or another
multi-branch backbone, such as MMPose's HRNet)."""
from typing import Dict, Optional, Sequence, Tuple

import torch

from ...registry import MODELS
from ..blocks.iterative_head import IterativeHead
from ..utils import check_out_indices


@MODELS.register_module(name='IterativeHead')
class IterativeHeadNeck(IterativeHead):
    """Lite-HRNet's IterativeHead, registered as ``litehrnet_mm.IterativeHead``.

    Its weights are named as in the backbone's ``head_layer``: a checkpoint with the head inside
    the backbone maps onto this neck by renaming ``backbone.head_layer.`` to ``neck.`` (see
    :func:`head_layer_to_neck`).

    Args:
        in_channels (Sequence[int]): Channels of the input branches, highest resolution first.
        out_indices (Sequence[int]): Outputs to return, 0 the highest resolution. Default
            ``(0, )``: MMPose's heads use the last feature they are given.
        conv_cfg, norm_cfg (dict): OpenMMLab layer configs.

    Attributes:
        out_channels (list[int]): Channels of each returned map.
        all_out_channels (list[int]): Channels of every resolution, highest first.

    Example:
        >>> neck = IterativeHeadNeck(in_channels=(40, 80, 160, 320))
        >>> feats = [torch.rand(1, c, 64 // 2**i, 48 // 2**i)
        ...          for i, c in enumerate((40, 80, 160, 320))]
        >>> [tuple(y.shape) for y in neck(feats)]
        [(1, 40, 64, 48)]
    """

    def __init__(self, in_channels: Sequence[int], out_indices: Sequence[int] = (0, ),
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN'),
                 init_cfg=None):
        if not isinstance(in_channels, (list, tuple)) or len(in_channels) < 1 or any(
                isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in in_channels):
            raise ValueError(f'IterativeHead: in_channels must be a list of positive ints '
                             f'(one per branch), got {in_channels!r}')
        out_indices = check_out_indices(out_indices, len(in_channels), 'IterativeHead')
        super().__init__(in_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg, init_cfg=init_cfg)
        self.out_indices = out_indices
        self.all_out_channels = self.out_channels
        self.out_channels = [self.all_out_channels[i] for i in out_indices]

    def forward(self, x: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        if len(x) != len(self.in_channels):
            raise ValueError(f'IterativeHead was built for {len(self.in_channels)} branches, got '
                             f'{len(x)} feature maps: give the backbone out_indices for all '
                             f'of its resolutions (e.g. (0, 1, 2, 3))')
        y = super().forward(x)
        return tuple(y[i] for i in self.out_indices)


def head_layer_to_neck(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename ``backbone.head_layer.*`` (the published layout) to ``neck.*``."""
    prefix = 'backbone.head_layer.'
    return {('neck.' + k[len(prefix):] if k.startswith(prefix) else k): v
            for k, v in state_dict.items()}
