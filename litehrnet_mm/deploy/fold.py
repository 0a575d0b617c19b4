"""BatchNorm folded into the convolution before it: the weights of the inference form."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

Folded = Tuple[torch.Tensor, torch.Tensor]  # (weight, bias)


def _check_foldable(conv: nn.Module, norm: Optional[nn.Module], where: str):
    if type(conv) is not nn.Conv2d:
        raise TypeError(f'{where}: the deploy form folds plain Conv2d layers, got '
                        f'{type(conv).__name__} (conv_cfg); use the training form')
    if norm is not None and not isinstance(norm, _BatchNorm):
        raise TypeError(f'{where}: the deploy form folds BatchNorm (norm_cfg BN or SyncBN) into '
                        f'the convolutions; {type(norm).__name__} depends on each input and '
                        f'cannot be folded: use the training form in eval mode')


@torch.no_grad()
def fold_conv_norm(conv: nn.Conv2d, norm: Optional[_BatchNorm] = None,
                   where: str = 'conv') -> Folded:
    """Weight and bias of one conv computing ``norm(conv(x))`` with the running statistics."""
    _check_foldable(conv, norm, where)
    weight = conv.weight.detach().clone()
    bias = conv.bias.detach().clone() if conv.bias is not None else \
        torch.zeros(conv.out_channels, dtype=weight.dtype, device=weight.device)
    if norm is None:
        return weight, bias
    scale = 1.0 / torch.sqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale + (norm.bias if norm.affine else 0)
    return weight * scale.reshape(-1, 1, 1, 1), bias * scale + shift


def fold_conv_module(m: ConvModule, where: str = 'ConvModule') -> Folded:
    """Weight and bias of an mmcv ``ConvModule`` (conv, then norm) without its activation."""
    if m.order.index('conv') > (m.order.index('norm') if m.with_norm else 99):
        raise TypeError(f'{where}: norm before conv cannot be folded')
    return fold_conv_norm(m.conv, m.norm if m.with_norm else None, where)


def conv_from(weight: torch.Tensor, bias: torch.Tensor, stride: int = 1, padding: int = 0,
              groups: int = 1) -> nn.Conv2d:
    """An ``nn.Conv2d`` holding the given weight and bias."""
    out_c, in_per_group, kh, kw = weight.shape
    conv = nn.Conv2d(in_per_group * groups, out_c, (kh, kw), stride, padding, groups=groups,
                     bias=True).to(weight)
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv
