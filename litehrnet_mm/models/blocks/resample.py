"""Resampling between branches, exact for any size and export-friendly for sizes divisible by 32.

Branch i of an HxW input is ceil(H / 2^(i+2)) high. When the input divides by 32, neighbouring
branches differ by exactly 2^k and a constant factor describes the resampling: it is used then,
so that an exported graph keeps no size read from a tensor and stays valid for other sizes.
Otherwise the sizes were rounded up on the way down, and the exact target size is used.
"""
import torch
import torch.nn.functional as F


def pool_to(x: torch.Tensor, size, factor: int) -> torch.Tensor:
    """Average-pool ``x`` to ``size``, nominally ``factor`` times smaller.

    With exact multiples this is a constant-kernel pooling, equal to adaptive pooling; else
    adaptive pooling (what MMPose computes) is the correct fallback.
    """
    if factor == 1:
        return x
    if x.shape[-2] == size[0] * factor and x.shape[-1] == size[1] * factor:
        return F.avg_pool2d(x, factor, factor)
    return F.adaptive_avg_pool2d(x, size)


def upsample_to(x: torch.Tensor, size, factor: int, mode: str = 'nearest',
                align_corners=None) -> torch.Tensor:
    """Upsample ``x`` to ``size``, nominally ``factor`` times larger.

    For nearest and for bilinear with ``align_corners=True`` a constant factor with exact
    multiples gives the same values as the target size.
    """
    if x.shape[-2] * factor == size[0] and x.shape[-1] * factor == size[1]:
        if factor == 1:
            return x
        return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=align_corners)
    return F.interpolate(x, size=size, mode=mode, align_corners=align_corners)
