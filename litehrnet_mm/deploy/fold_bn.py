"""Fold BatchNorm into the preceding convolution, for inference."""
import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@torch.no_grad()
def fused_conv(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """A Conv2d with bias computing ``bn(conv(x))`` with ``bn``'s running statistics."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
        1.0 / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0) - bn.running_mean * scale
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True,
                      padding_mode=conv.padding_mode).to(conv.weight)
    fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
    fused.bias.copy_(shift + (conv.bias * scale if conv.bias is not None else 0))
    return fused


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every BatchNorm that directly follows a convolution in ``module``, in place.

    Handles mmcv ``ConvModule`` (conv, then norm) and ``nn.Sequential`` runs of Conv2d followed
    by BatchNorm (the fuse and transition layers). Returns the number folded.
    """
    count = 0
    for m in list(module.modules()):
        if isinstance(m, ConvModule) and m.with_norm and isinstance(m.norm, _BatchNorm) \
                and m.order.index('conv') < m.order.index('norm') \
                and isinstance(m.conv, nn.Conv2d):
            m.conv = fused_conv(m.conv, m.norm)
            setattr(m, m.norm_name, nn.Identity())
            m.with_norm = False
            count += 1
        elif isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if type(m[i]) is nn.Conv2d and isinstance(m[i + 1], _BatchNorm):
                    m[i] = fused_conv(m[i], m[i + 1])
                    m[i + 1] = nn.Identity()
                    count += 1
    return count
