"""The layers of the deploy form, each with exact implementations for three runtimes.

Batch-1 inference on these small maps costs more in per-operation overhead and data movement
than in arithmetic, and what is cheap differs between runtimes:

- ``'eager'`` (eager inference): tensors are channels-last (channels innermost), and each
  layer takes the cheapest call. A 1x1 convolution is one MKL matrix product over the pixels
  (``addmm``, which also adds in place), a depthwise 3x3 convolution is the project's kernel
  (:mod:`.kernels`; with the multiply by an upsampled weighting before it fused in), other
  convolutions are oneDNN convolutions with the weights packed once and the activation fused
  (``torch.ops.mkldnn._convolution_pointwise``, the op that inductor's freezing emits),
  nearest upsampling followed by an add or a multiply is one broadcast op on a strided view,
  without the upsampled tensor, and the channel shuffle writes channel pairs.
- ``'inductor'`` (``torch.compile``, AOTInductor): the same channels-last formulation with
  public ops (``F.conv2d``, ``addmm``), which inductor packs and fuses itself, and the
  depthwise kernel, which the compiled code calls as an operator.
- ``'onnx'`` (the ONNX exporters, and calls on contiguous tensors): convolutions and
  ``Resize`` on NCHW tensors; ONNX Runtime runs a 6-D broadcast far slower than ``Resize``,
  and would transpose around every convolution of a channels-last graph.

:func:`implementation` picks one per call, from the layout of the input and from what traces
it; :func:`graph_target` overrides the choice while tracing.
"""
import contextlib
from typing import Iterator, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .kernels import depthwise_kernel

_ACTS = (None, 'relu', 'sigmoid')
GRAPH_TARGETS = ('inductor', 'onnx', 'openvino')
_graph_target: Optional[str] = None


@contextlib.contextmanager
def graph_target(target: str) -> Iterator[None]:
    """Trace the deploy form for ``target`` inside the block: ``'inductor'``, ``'onnx'`` (for
    ONNX Runtime) or ``'openvino'`` (the ONNX form with the channel shuffle written as
    reshape-transpose-reshape, the pattern OpenVINO fuses; ONNX Runtime runs the one-copy
    ``stack`` form faster).

    Without it, ``torch.export`` and the TorchScript tracer (the ONNX exporters) get the
    ``'onnx'`` form and ``torch.compile`` the ``'inductor'`` form; AOTInductor, which traces
    with ``torch.export``, needs ``graph_target('inductor')``.
    """
    global _graph_target
    if target not in GRAPH_TARGETS:
        raise ValueError(f'graph target must be one of {GRAPH_TARGETS}, got {target!r}')
    previous, _graph_target = _graph_target, target
    try:
        yield
    finally:
        _graph_target = previous


def _traced_target() -> Optional[str]:
    """The graph target of the trace in progress, None in eager mode."""
    if torch.jit.is_tracing():
        return 'onnx'
    if not torch.compiler.is_compiling():
        return None
    return _graph_target or ('onnx' if torch.compiler.is_exporting() else 'inductor')


def channels_last_forms() -> bool:
    """Whether the deploy form runs on channels-last tensors here: eager inference with
    oneDNN, or a trace for inductor. (The backbone converts its input accordingly.)"""
    target = _traced_target()
    if target is None:
        return torch.backends.mkldnn.is_available()
    return target == 'inductor'


def channels_innermost(x: torch.Tensor) -> bool:
    """A 4-D float32 CPU tensor whose channels are innermost (channels-last, or a channel
    slice of such a tensor)."""
    return (x.dim() == 4 and x.stride(1) == 1 and x.device.type == 'cpu'
            and x.dtype == torch.float32)


def implementation(x: torch.Tensor) -> str:
    """``'eager'``, ``'inductor'`` or ``'onnx'``: how a deploy layer computes on ``x``."""
    target = _traced_target()
    if target in ('onnx', 'openvino') or not channels_innermost(x):
        return 'onnx'
    if target is None:
        return 'eager' if torch.backends.mkldnn.is_available() else 'onnx'
    return 'inductor'


def channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` takes a channels-last form (``'eager'`` or ``'inductor'``)."""
    return implementation(x) != 'onnx'


def pixels(x: torch.Tensor) -> torch.Tensor:
    """A channels-last (N, C, H, W) tensor as its (N*H*W, C) matrix of pixels (a view)."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def from_pixels(m: torch.Tensor, like: torch.Tensor, channels: int) -> torch.Tensor:
    """The inverse of :func:`pixels`: (N*H*W, C) back to a channels-last (N, C, H, W)."""
    n, _, h, w = like.shape
    return m.view(n, h, w, channels).permute(0, 3, 1, 2)


def _activate(y: torch.Tensor, act: Optional[str], inplace: bool = False) -> torch.Tensor:
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
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride: int = 1,
                 padding: int = 0, groups: int = 1, act: Optional[str] = None):
        super().__init__()
        if act not in _ACTS:
            raise ValueError(f'act must be one of {_ACTS}, got {act!r}')
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.stride, self.padding, self.groups, self.act = stride, padding, groups, act
        self._packed: Optional[torch.Tensor] = None  # oneDNN layout, made on first use
        self._taps_cache: Optional[torch.Tensor] = None  # depthwise kernel's, on first use
        self._derived_from: Optional[tuple] = None  # the weight's version they were made from

    @property
    def pointwise(self) -> bool:
        """A 1x1 stride-1 convolution: a matrix product over the pixels."""
        return self.weight.shape[-2:] == (1, 1) and self.stride == 1 and self.groups == 1

    @property
    def depthwise3x3(self) -> bool:
        """A depthwise 3x3 convolution that :mod:`.kernels`' kernel computes (padding 1,
        stride 1 or 2, no activation or ReLU)."""
        o, i, kh, kw = self.weight.shape
        return ((kh, kw) == (3, 3) and i == 1 and self.groups == o and self.padding == 1
                and self.stride in (1, 2) and self.act in (None, 'relu'))

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    def extra_repr(self) -> str:
        o, i, kh, kw = self.weight.shape
        return (f'{i * self.groups}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}, '
                f'padding={self.padding}, groups={self.groups}, act={self.act}')

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
            self._packed = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight.detach(), [self.padding] * 2, [self.stride] * 2, [1, 1],
                self.groups, list(x.shape))
        return self._packed

    def _taps(self, cache: bool) -> torch.Tensor:
        """The depthwise weights as a contiguous (9, C) matrix, tap by tap."""
        if not cache:  # traced: a constant that freezing folds
            return self.weight.detach().reshape(self.out_channels, 9).t().contiguous()
        self._drop_stale()
        if self._taps_cache is None:
            self._taps_cache = self._taps(False)
        return self._taps_cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kind = implementation(x)
        if kind != 'onnx' and self.pointwise:
            y = torch.addmm(self.bias, pixels(x), self._matrix())
            return _activate(from_pixels(y, x, self.out_channels), self.act, inplace=True)
        if kind != 'onnx' and self.depthwise3x3 and depthwise_kernel():
            return torch.ops.litehrnet_mm.depthwise3x3(
                x, self._taps(cache=kind == 'eager'), self.bias, self.stride, self.act == 'relu')
        if kind == 'eager':
            return torch.ops.mkldnn._convolution_pointwise(
                x, self._onednn_weight(x), self.bias, [self.padding] * 2, [self.stride] * 2,
                [1, 1], self.groups, self.act or 'none', [], '')
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, 1, self.groups)
        return _activate(y, self.act)

    def weighted(self, x: torch.Tensor, scale: torch.Tensor, factor: int) -> torch.Tensor:
        """``self(mul_upsampled(x, scale, factor))``: in the channels-last forms, a depthwise
        3x3 convolution weights its input rows as it reads them (one kernel call)."""
        kind = implementation(x)
        if (kind != 'onnx' and self.depthwise3x3 and _exact_multiple(x, scale, factor)
                and channels_innermost(scale) and depthwise_kernel()):
            return torch.ops.litehrnet_mm.depthwise3x3(
                x, self._taps(cache=kind == 'eager'), self.bias, self.stride,
                self.act == 'relu', scale, factor)
        return self(mul_upsampled(x, scale, factor))

    def accumulate_(self, acc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``acc += conv(x)`` in place, without the bias and the activation (channels-last
        forms; a 1x1 convolution adds its matrix product straight into ``acc``)."""
        if self.pointwise:
            pixels(acc).addmm_(pixels(x), self._matrix())
            return acc
        if implementation(x) == 'eager':
            return torch.ops.mkldnn._convolution_pointwise_.binary(
                acc, x, self._onednn_weight(x), None, [self.padding] * 2, [self.stride] * 2,
                [1, 1], self.groups, 'add', 1.0, None, [], None)
        return acc.add_(F.conv2d(x, self.weight, None, self.stride, self.padding, 1,
                                 self.groups))

    def _apply(self, fn, recurse=True):
        self._packed = self._taps_cache = None  # moved or converted: derive them again
        return super()._apply(fn, recurse)

    def __getstate__(self):
        # copies and pickles leave the oneDNN-packed weight out (an opaque tensor, which
        # neither copies nor pickles), and the kernel's taps; both are made again on first use
        return {**super().__getstate__(), '_packed': None, '_taps_cache': None}


def upsample_nearest(x: torch.Tensor, size: Sequence[int], factor: int) -> torch.Tensor:
    """Nearest upsampling by ``factor`` onto ``size`` (exact target size for any input)."""
    if factor == 1 and tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] * factor == size[0] and x.shape[-1] * factor == size[1]:
        return F.interpolate(x, scale_factor=factor, mode='nearest')
    return F.interpolate(x, size=tuple(size), mode='nearest')


def _exact_multiple(x: torch.Tensor, t: torch.Tensor, factor: int) -> bool:
    return x.shape[-2] == t.shape[-2] * factor and x.shape[-1] == t.shape[-1] * factor


def _cells(t: torch.Tensor) -> torch.Tensor:
    """An (N, C, h, w) tensor as an (N, h, 1, w, 1, C) view, to broadcast over blocks."""
    return t.permute(0, 2, 3, 1).unsqueeze(2).unsqueeze(4)


def _blocks(x: torch.Tensor, factor: int) -> torch.Tensor:
    """A channels-last (N, C, h*f, w*f) tensor as an (N, h, f, w, f, C) view."""
    n, c, hh, ww = x.shape
    return x.permute(0, 2, 3, 1).view(n, hh // factor, factor, ww // factor, factor, c)


def add_upsampled(x: torch.Tensor, t: torch.Tensor, factor: int,
                  inplace: bool = False) -> torch.Tensor:
    """``x + upsample_nearest(t)`` (into ``x`` with ``inplace``); the channels-last forms
    broadcast over blocks instead of materialising the upsampled tensor."""
    if factor > 1 and channels_last(x) and _exact_multiple(x, t, factor):
        if inplace:
            _blocks(x, factor).add_(_cells(t))
            return x
        n, c, hh, ww = x.shape
        y = x.permute(0, 2, 3, 1).reshape(n, hh // factor, factor, ww // factor, factor,
                                          c) + _cells(t)
        return y.view(n, hh, ww, c).permute(0, 3, 1, 2)
    t = upsample_nearest(t, x.shape[-2:], factor)
    return x.add_(t) if inplace else x + t


def mul_upsampled(x: torch.Tensor, t: torch.Tensor, factor: int) -> torch.Tensor:
    """``x * upsample_nearest(t)``, broadcast over blocks in the channels-last forms."""
    if factor > 1 and channels_last(x) and _exact_multiple(x, t, factor):
        n, c, hh, ww = x.shape
        y = x.permute(0, 2, 3, 1).reshape(n, hh // factor, factor, ww // factor, factor,
                                          c) * _cells(t)
        return y.view(n, hh, ww, c).permute(0, 3, 1, 2)
    return x * upsample_nearest(t, x.shape[-2:], factor)


def interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(cat([a, b], 1), 2)`` for halves of equal width, in one copy."""
    if channels_last(a):
        n, c, h, w = a.shape
        y = torch.stack([a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)], dim=-1)
        return y.view(n, h, w, 2 * c).permute(0, 3, 1, 2)
    if _traced_target() == 'openvino':
        from ..models.blocks import channel_shuffle
        return channel_shuffle(torch.cat([a, b], 1), 2)
    return torch.stack([a, b], 2).flatten(1, 2)
