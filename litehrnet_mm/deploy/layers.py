"""The layers of the deploy form, each with exact implementations for its targets.

Batch-1 inference on these small maps costs more in per-operation overhead and data movement
than in arithmetic, and what is cheap differs between runtimes. Every layer takes the target
it computes for as an argument (:mod:`.target`), chosen once per forward by the backbone:

- ``'eager'`` (eager inference on the CPU): tensors are channels-last (channels innermost),
  and each layer takes the cheapest call. A 1x1 convolution is one MKL matrix product over the
  pixels (``addmm``, which also adds in place), a depthwise 3x3 convolution is the project's
  kernel (:mod:`.kernels`; with the multiply by an upsampled weighting before it fused in),
  other convolutions are oneDNN convolutions with the weights packed once and the activation
  fused (:mod:`.onednn`), nearest upsampling followed by an add or a multiply is one broadcast
  op on a strided view, without the upsampled tensor, and the channel shuffle writes channel
  pairs.
- ``'inductor'`` (``torch.compile``, AOTInductor): the same channels-last formulation with
  public ops (``F.conv2d``, ``addmm``), which inductor packs and fuses itself, and the
  depthwise kernel, which the compiled code calls as an operator.
- ``'onnx'`` and ``'openvino'`` (exports, and any device or dtype): convolutions and
  ``Resize`` on NCHW tensors; ONNX Runtime runs a 6-D broadcast far slower than ``Resize``,
  and would transpose around every convolution of a channels-last graph. The two differ only
  in the form of the channel shuffle (:func:`interleave`).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..models.blocks.channel_shuffle import channel_shuffle, shuffle_concat
from ..models.blocks.resample import upsample_to
from ..deprecation import moved_names
from . import kernels, onednn
from .target import CHANNELS_LAST, PORTABLE

_ACTS = (None, 'relu', 'sigmoid')
__getattr__ = moved_names(__name__, {
    'graph_target': 'litehrnet_mm.deploy.backbone',
    'upsample_nearest': 'litehrnet_mm.models.blocks.resample:upsample_to',
})


def pixels(x: torch.Tensor) -> torch.Tensor:
    """A channels-last (N, C, H, W) tensor as its (N*H*W, C) matrix of pixels (a view)."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def from_pixels(m: torch.Tensor, like: torch.Tensor, channels: int) -> torch.Tensor:
    """The inverse of :func:`pixels`: (N*H*W, C) back to a channels-last (N, C, H, W)."""
    n, _, h, w = like.shape
    return m.view(n, h, w, channels).permute(0, 3, 1, 2)


def activate(y: torch.Tensor, act: Optional[str], inplace: bool = False) -> torch.Tensor:
    """``act`` (None, ``'relu'`` or ``'sigmoid'``) of ``y``, in place with ``inplace``."""
    if act == 'relu':
        return y.relu_() if inplace else torch.relu(y)
    if act == 'sigmoid':
        return y.sigmoid_() if inplace else torch.sigmoid(y)
    return y


class FoldedConv(nn.Module):
    """A convolution with BatchNorm folded into ``weight`` and ``bias``, then ``act``.

    Args:
        weight, bias (Tensor): Of the folded convolution.
        stride, padding, groups (int): As ``nn.Conv2d``.
        act (str, optional): None, ``'relu'`` or ``'sigmoid'``.
        kernel (bool): Run a depthwise 3x3 convolution in the hand-written kernel in the
            channels-last targets (:mod:`.kernels`; oneDNN or inductor where it cannot be
            built). Read from ``LITEHRNET_MM_KERNELS`` when the deploy form is made.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride: int = 1,
                 padding: int = 0, groups: int = 1, act: Optional[str] = None,
                 kernel: bool = False):
        super().__init__()
        if act not in _ACTS:
            raise ValueError(f'act must be one of {_ACTS}, got {act!r}')
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.stride, self.padding, self.groups, self.act = stride, padding, groups, act
        o, i, kh, kw = self.weight.shape
        # what the layer is: fixed by its shape and settings (a load keeps the shape)
        self._pointwise = (kh, kw) == (1, 1) and stride == 1 and groups == 1
        self._depthwise3x3 = ((kh, kw) == (3, 3) and i == 1 and groups == o and padding == 1
                              and stride in (1, 2) and act in (None, 'relu'))
        self.kernel = bool(kernel) and self._depthwise3x3
        self._packed: Optional[torch.Tensor] = None  # oneDNN layout, made on first use
        self._taps_cache: Optional[torch.Tensor] = None  # depthwise kernel's, on first use
        self._derived_from: Optional[tuple] = None  # the weight's version they were made from

    @property
    def pointwise(self) -> bool:
        """A 1x1 stride-1 convolution: a matrix product over the pixels."""
        return self._pointwise

    @property
    def depthwise3x3(self) -> bool:
        """A depthwise 3x3 convolution that :mod:`.kernels`' kernel computes (padding 1,
        stride 1 or 2, no activation or ReLU)."""
        return self._depthwise3x3

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    def extra_repr(self) -> str:
        o, i, kh, kw = self.weight.shape
        return (f'{i * self.groups}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}, '
                f'padding={self.padding}, groups={self.groups}, act={self.act}, '
                f'kernel={self.kernel}')

    def _matrix(self) -> torch.Tensor:
        return self.weight[:, :, 0, 0].t()  # (C_in, C_out), a view

    def _drop_stale(self) -> None:
        """Forget the forms derived from ``weight`` once it changed (``load_state_dict`` and
        other in-place writes bump its version)."""
        key = (self.weight._version, self.weight.data_ptr())
        if key != self._derived_from:
            self._packed = self._taps_cache = None
            self._derived_from = key

    def _onednn_weight(self, x: torch.Tensor) -> torch.Tensor:
        self._drop_stale()
        if self._packed is None:
            self._packed = onednn.pack_weight(self.weight, self.padding, self.stride,
                                              self.groups, x.shape)
        return self._packed

    def _taps(self, target: str) -> torch.Tensor:
        """The depthwise weights as a contiguous (9, C) matrix, tap by tap (kept in eager
        inference; traced, a constant that freezing folds)."""
        if target != 'eager':
            return self.weight.detach().reshape(self.out_channels, 9).t().contiguous()
        self._drop_stale()
        if self._taps_cache is None:
            self._taps_cache = self._taps(PORTABLE)
        return self._taps_cache

    def _use_kernel(self, target: str) -> bool:
        return self.kernel and target in CHANNELS_LAST and kernels.built()

    def _depthwise_kernel(self, x: torch.Tensor, target: str, bias: torch.Tensor,
                          relu: bool, scale: Optional[torch.Tensor] = None,
                          factor: int = 1) -> torch.Tensor:
        args = (scale, factor) if scale is not None else ()
        return torch.ops.litehrnet_mm.depthwise3x3(x, self._taps(target), bias, self.stride,
                                                   relu, *args)

    def _conv(self, x: torch.Tensor, target: str, bias: Optional[torch.Tensor],
              act: Optional[str]) -> torch.Tensor:
        if target in CHANNELS_LAST:
            if self._pointwise:
                m = torch.addmm(bias, pixels(x), self._matrix())
                return activate(from_pixels(m, x, self.out_channels), act, inplace=True)
            if self._use_kernel(target) and act in (None, 'relu') and bias is not None:
                return self._depthwise_kernel(x, target, bias, act == 'relu')
            if target == 'eager':
                return onednn.conv(x, self._onednn_weight(x), bias, self.padding, self.stride,
                                   self.groups, act)
        y = F.conv2d(x, self.weight, bias, self.stride, self.padding, 1, self.groups)
        return activate(y, act)

    def forward(self, x: torch.Tensor, target: str = PORTABLE) -> torch.Tensor:
        """The convolution for ``target``: channels-last tensors for the channels-last
        targets (as the backbone gives them), any tensor for the portable ones."""
        return self._conv(x, target, self.bias, self.act)

    def _require_pointwise(self, what: str) -> None:
        if not self._pointwise:
            raise TypeError(f'{what} is for 1x1 convolutions, this is {self.extra_repr()}')

    def linear(self, x: torch.Tensor, target: str, bias: torch.Tensor) -> torch.Tensor:
        """A 1x1 convolution with ``bias`` instead of its own, without the activation."""
        self._require_pointwise('linear')
        return self._conv(x, target, bias, None)

    def weighted(self, x: torch.Tensor, scale: torch.Tensor, factor: int,
                 target: str = PORTABLE) -> torch.Tensor:
        """``self(mul_upsampled(x, scale, factor))``: with the kernel, a depthwise 3x3
        convolution weights its input rows as it reads them (one call)."""
        if self._use_kernel(target) and _exact_multiple(x, scale, factor):
            return self._depthwise_kernel(x, target, self.bias, self.act == 'relu', scale,
                                          factor)
        return self(mul_upsampled(x, scale, factor, target), target)

    def accumulate(self, acc: torch.Tensor, x: torch.Tensor, target: str) -> torch.Tensor:
        """``acc + conv(x)`` of a 1x1 convolution, without its bias and activation; in the
        channels-last targets into ``acc`` in place (the matrix product adds straight into
        it)."""
        self._require_pointwise('accumulate')
        if target in CHANNELS_LAST:
            pixels(acc).addmm_(pixels(x), self._matrix())
            return acc
        return acc + F.conv2d(x, self.weight)

    def forget_derived(self) -> None:
        """Drop what was derived from the weight (made again on next use)."""
        self._packed = self._taps_cache = None

    def _apply(self, fn, recurse=True):
        self.forget_derived()  # moved or converted: derive them again
        return super()._apply(fn, recurse)

    def __getstate__(self):
        # copies and pickles leave the oneDNN-packed weight out (an opaque tensor, which
        # neither copies nor pickles), and the kernel's taps; both are made again on first use
        return {**super().__getstate__(), '_packed': None, '_taps_cache': None}


def _exact_multiple(x: torch.Tensor, t: torch.Tensor, factor: int) -> bool:
    return x.shape[-2] == t.shape[-2] * factor and x.shape[-1] == t.shape[-1] * factor


def _cells(t: torch.Tensor) -> torch.Tensor:
    """An (N, C, h, w) tensor as an (N, h, 1, w, 1, C) view, to broadcast over blocks."""
    return t.permute(0, 2, 3, 1).unsqueeze(2).unsqueeze(4)


def _blocks(x: torch.Tensor, factor: int) -> torch.Tensor:
    """A channels-last (N, C, h*f, w*f) tensor as an (N, h, f, w, f, C) view."""
    n, c, hh, ww = x.shape
    return x.permute(0, 2, 3, 1).view(n, hh // factor, factor, ww // factor, factor, c)


def _broadcast(x: torch.Tensor, t: torch.Tensor, factor: int, op) -> torch.Tensor:
    """``op(x, upsample(t))`` as one broadcast over ``factor`` x ``factor`` blocks, in a new
    channels-last tensor."""
    n, c, hh, ww = x.shape
    y = op(x.permute(0, 2, 3, 1).reshape(n, hh // factor, factor, ww // factor, factor, c),
           _cells(t))
    return y.view(n, hh, ww, c).permute(0, 3, 1, 2)


def add_upsampled(x: torch.Tensor, t: torch.Tensor, factor: int, target: str = PORTABLE,
                  inplace: bool = False) -> torch.Tensor:
    """``x + upsample(t)`` (nearest, ``factor`` times; into ``x`` with ``inplace``); the
    channels-last targets broadcast over blocks instead of materialising the upsampled
    tensor."""
    if factor > 1 and target in CHANNELS_LAST and _exact_multiple(x, t, factor):
        if inplace:
            _blocks(x, factor).add_(_cells(t))
            return x
        return _broadcast(x, t, factor, torch.add)
    t = upsample_to(t, x.shape[-2:], factor)
    return x.add_(t) if inplace else x + t


def mul_upsampled(x: torch.Tensor, t: torch.Tensor, factor: int,
                  target: str = PORTABLE) -> torch.Tensor:
    """``x * upsample(t)`` (nearest), broadcast over blocks in the channels-last targets."""
    if factor > 1 and target in CHANNELS_LAST and _exact_multiple(x, t, factor):
        return _broadcast(x, t, factor, torch.mul)
    return x * upsample_to(t, x.shape[-2:], factor)


def interleave(a: torch.Tensor, b: torch.Tensor, target: str = PORTABLE) -> torch.Tensor:
    """``channel_shuffle(cat([a, b], 1), 2)``, in the form ``target`` runs fastest: channel
    pairs written in one copy (channels-last targets), reshape-transpose-reshape, the pattern
    OpenVINO fuses (``'openvino'``), else the one-copy ``stack`` of
    :func:`~litehrnet_mm.models.blocks.shuffle_concat`, which ONNX Runtime runs faster."""
    if target in CHANNELS_LAST and a.shape[1] == b.shape[1]:
        n, c, h, w = a.shape
        y = torch.stack([a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)], dim=-1)
        return y.view(n, h, w, 2 * c).permute(0, 3, 1, 2)
    if target == 'openvino':
        return channel_shuffle(torch.cat([a, b], 1), 2)
    return shuffle_concat(a, b)
