"""The inference form of Lite-HRNet: its own modules, derived from trained training modules.

``LiteHRNet.switch_to_deploy()`` replaces each part of the backbone (stem, transitions, stages,
IterativeHead) by :func:`to_deploy` of it. Every module here computes exactly what its training
counterpart computes in eval mode, reformulated for fewer and cheaper operations:

- every BatchNorm is folded into the convolution before it, and activations are part of the
  convolution layer (:class:`~litehrnet_mm.deploy.layers.FoldedConv`);
- concat + channel shuffle is one copy (:func:`~litehrnet_mm.deploy.layers.interleave`);
- the spatial weightings (squeeze-excitation on 1x1 maps) of all branches of a block run as two
  matrix products with block-diagonal weights, instead of two 1x1 convolutions per branch;
- in the channels-last forms, the cross-resolution weighting's multiply is part of the
  depthwise convolution after it (:meth:`~litehrnet_mm.deploy.layers.FoldedConv.weighted`);
- in the fuse layers, the path that the reference runs twice (the fuse quirk) has its last
  convolution's weights doubled, the 1x1 convolutions that read one branch on their way up are
  one convolution with stacked outputs (nearest upsampling commutes with them); they add up
  from the lowest resolution one x2 step at a time, and in the channels-last forms each
  output accumulates in place, its last 1x1 convolutions adding into it directly.

Every ``forward`` takes the target it computes for (``layers.py``) and passes it down; the
backbone chooses it once per forward (``backbone.py``) and feeds the channels-last targets
channels-last tensors. Outputs equal the training form's within float rounding (summation
order).
"""
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import nn

from ..models.blocks import (ConditionalChannelWeighting, FuseLayers, IterativeHead,
                             LiteHRModule, ParallelBranches, SeparableConvNorm, ShuffleUnit, Stem,
                             Transition, split_halves)
from ..models.blocks.iterative_head import refine_low_to_high
from ..models.blocks.resample import pool_to, upsample_to
from ..deprecation import moved_names
from . import kernels
from .fold import fold_conv_module, fold_conv_norm
from .layers import FoldedConv, activate, add_upsampled, interleave
from .target import CHANNELS_LAST, PORTABLE

_ACT_NAMES = {nn.ReLU: 'relu', nn.Sigmoid: 'sigmoid'}
__getattr__ = moved_names(__name__, {'shuffle_concat': 'litehrnet_mm.deploy.layers:interleave'})


def from_conv_module(m: ConvModule, where: str, kernel: bool = False) -> FoldedConv:
    """The :class:`FoldedConv` of an mmcv ``ConvModule`` (conv, BatchNorm, activation)."""
    act = None
    if m.with_activation:
        act = _ACT_NAMES.get(type(m.activate))
        if act is None:
            raise TypeError(f'{where}: no deploy form for activation '
                            f'{type(m.activate).__name__}')
    weight, bias = fold_conv_module(m, where)
    c = m.conv
    return FoldedConv(weight, bias, c.stride[0], c.padding[0], c.groups, act, kernel)


class Identity(nn.Identity):
    """``nn.Identity`` that takes the target too."""

    def forward(self, x, target: str = PORTABLE):
        return x


class Chain(nn.Sequential):
    """``nn.Sequential`` that passes the target on to each module."""

    def forward(self, x, target: str = PORTABLE):
        for module in self:
            x = module(x, target)
        return x


class DeployParallelBranches(nn.ModuleList):
    """:class:`~litehrnet_mm.models.blocks.ParallelBranches` in deploy form."""

    def forward(self, x: List[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        return [branch(s, target) for branch, s in zip(self, x)]


class Separable(nn.Module):
    """Depthwise 3x3 conv then 1x1 conv, BatchNorms folded (ReLU or not after the 1x1)."""

    def __init__(self, m: SeparableConvNorm, scale: float = 1.0, where: str = 'separable',
                 kernel: bool = False):
        super().__init__()
        if scale <= 0:  # a positive scale commutes with the ReLU
            raise ValueError(f'scale must be positive, got {scale}')
        dw, pw = m[0], m[2]
        w, b = fold_conv_norm(dw, m[1], f'{where} depthwise conv')
        self.depthwise = FoldedConv(w, b, dw.stride[0], dw.padding[0], dw.groups, kernel=kernel)
        w, b = fold_conv_norm(pw, m[3], f'{where} 1x1 conv')
        self.pointwise = FoldedConv(w * scale, b * scale, act='relu' if len(m) > 4 else None)

    def forward(self, x: torch.Tensor, target: str = PORTABLE) -> torch.Tensor:
        return self.pointwise(self.depthwise(x, target), target)


class DeployStem(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.Stem` in deploy form."""

    def __init__(self, stem: Stem, kernel: bool = False):
        super().__init__()
        self.conv1 = from_conv_module(stem.conv1, 'stem.conv1')
        self.branch1 = Chain(*[from_conv_module(m, 'stem.branch1', kernel)
                               for m in stem.branch1])
        self.branch2 = Chain(from_conv_module(stem.expand_conv, 'stem.expand_conv'),
                             from_conv_module(stem.depthwise_conv, 'stem.depthwise_conv', kernel),
                             from_conv_module(stem.linear_conv, 'stem.linear_conv'))

    def forward(self, x: torch.Tensor, target: str = PORTABLE) -> torch.Tensor:
        a, b = split_halves(self.conv1(x, target))
        return interleave(self.branch1(a, target), self.branch2(b, target), target)


def _chain(m: nn.Module, where: str, kernel: bool) -> nn.Module:
    if isinstance(m, nn.Identity):
        return Identity()
    if isinstance(m, SeparableConvNorm):
        return Separable(m, where=where, kernel=kernel)
    return Chain(*[Separable(link, where=where, kernel=kernel) for link in m])


class DeployTransition(nn.ModuleList):
    """:class:`~litehrnet_mm.models.blocks.Transition` in deploy form."""

    def __init__(self, transition: Transition, kernel: bool = False):
        super().__init__([_chain(m, f'transition[{i}]', kernel)
                          for i, m in enumerate(transition)])

    def forward(self, x: List[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        last = len(x) - 1
        return [layer(x[min(i, last)], target) for i, layer in enumerate(self)]


def _block_diagonal_linear(convs: Sequence[ConvModule]) -> nn.Linear:
    """One Linear layer doing the 1x1 convs of ``convs``, each on its own slice of the input."""
    weights, biases = zip(*[fold_conv_module(c, 'spatial weighting') for c in convs])
    weight = torch.block_diag(*[w[:, :, 0, 0] for w in weights])
    linear = nn.Linear(weight.shape[1], weight.shape[0]).to(weight)
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(torch.cat(biases))
    linear.requires_grad_(False)
    return linear


#: The fused block computes the cross-resolution weighting channel-major, with transposes
#: in and out; beyond this many floats of weighting per image (its channels times the
#: smallest branch's pixels), the unfused block measured faster in the packages (pose at
#: 256x192 and 384x288: 14 to 104 thousand, fused; segmentation at 512x1024: 154 to 491
#: thousand, unfused). Traced with a free batch axis (packages for batches of 1 to N), the
#: block runs unfused too: a batch-8 package measured 76 ms fused against 68 unfused.
FUSED_WEIGHTING_LIMIT = 131072


class DeployConditionalChannelWeighting(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.ConditionalChannelWeighting` in deploy form; the
    spatial weightings of all branches are two matrix products. In the channels-last targets
    with the hand-written kernels, the whole block is one call (:attr:`fuse`)."""

    def __init__(self, block: ConditionalChannelWeighting, kernel: bool = False):
        super().__init__()
        crw = block.cross_resolution_weighting
        self.channels = list(crw.channels)
        self.crw1 = from_conv_module(crw.conv1, 'cross_resolution_weighting.conv1')
        self.crw2 = from_conv_module(crw.conv2, 'cross_resolution_weighting.conv2')
        self.depthwise_convs = nn.ModuleList(
            [from_conv_module(m, 'depthwise_convs', kernel) for m in block.depthwise_convs])
        self.se1 = _block_diagonal_linear([sw.conv1 for sw in block.spatial_weighting])
        self.se2 = _block_diagonal_linear([sw.conv2 for sw in block.spatial_weighting])
        # what the fused kernel computes: the weighting's 1x1 convolutions with ReLU then
        # sigmoid, stride-1 depthwise convolutions without activation
        self._fusable = (
            self.crw1.pointwise and self.crw1.act == 'relu' and self.crw2.pointwise
            and self.crw2.act == 'sigmoid'
            and all(dw.kernel and dw.stride == 1 and dw.act is None
                    for dw in self.depthwise_convs))
        #: run the whole block as one call of ``litehrnet_mm::ccw_block`` (``csrc/ccw.cpp``)
        #: in the channels-last targets, where the hand-written kernels are built, every
        #: branch is exactly 2^k times the last one's size and the weighting is within
        #: :data:`FUSED_WEIGHTING_LIMIT`; False: one call per operation (the form of
        #: litehrnet-mm 0.2, kept for comparison)
        self.fuse = self._fusable

    def _runs_fused(self, x: List[torch.Tensor], target: str) -> bool:
        if not (self.fuse and self._fusable and target in CHANNELS_LAST and kernels.built()):
            return False
        if not isinstance(x[-1].shape[0], int):  # a free batch axis (packages of batches)
            return False
        last, (h, w) = len(x) - 1, x[-1].shape[-2:]
        weighting = h * w * sum(s.shape[1] for s in x) // 2  # floats per image
        return weighting <= FUSED_WEIGHTING_LIMIT and all(
            s.shape[-2] == h * 2**(last - i) and s.shape[-1] == w * 2**(last - i)
            for i, s in enumerate(x))

    def forward(self, x: List[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        if self._runs_fused(x, target):
            dws = self.depthwise_convs
            return list(torch.ops.litehrnet_mm.ccw_block(
                list(x), self.crw1.weight, self.crw1.bias, self.crw2.weight, self.crw2.bias,
                [dw.weight for dw in dws], [dw.bias for dw in dws], self.se1.weight,
                self.se1.bias, self.se2.weight, self.se2.bias))
        last = len(x) - 1
        kept, weighted = zip(*[split_halves(s) for s in x])
        smallest = x[-1].shape[-2:]
        pooled = [pool_to(s, smallest, 2**(last - i)) for i, s in enumerate(weighted)]
        crw = self.crw2(self.crw1(torch.cat(pooled, dim=1), target), target)
        weighted = [
            dw.weighted(s, w, 2**(last - i), target)
            for i, (s, w, dw) in enumerate(
                zip(weighted, torch.split(crw, self.channels, dim=1), self.depthwise_convs))
        ]
        means = torch.cat([s.mean((2, 3)) for s in weighted], dim=1)
        se = torch.sigmoid(self.se2(torch.relu(self.se1(means))))
        se = se.reshape(se.shape[0], -1, 1, 1)
        return [
            interleave(k, s * w, target)
            for k, s, w in zip(kept, weighted, torch.split(se, self.channels, dim=1))
        ]


class DeployShuffleUnit(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.ShuffleUnit` in deploy form."""

    def __init__(self, unit: ShuffleUnit, kernel: bool = False):
        super().__init__()
        self.branch2 = Chain(
            *[from_conv_module(m, 'shuffle unit', kernel) for m in unit.branch2])

    def forward(self, x: torch.Tensor, target: str = PORTABLE) -> torch.Tensor:
        kept, transformed = split_halves(x)
        return interleave(kept, self.branch2(transformed, target), target)


class DeployFuseLayers(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.FuseLayers` in eval mode, with the fuse quirk
    folded into the weights.

    Output 0 is ``relu(z0)``, ``z0 = 2 x0 + sum_j up_0j(x_j)``; output i > 0 sums ``2
    down_i0(z0)`` (the doubling is in the last 1x1 conv of that path), ``x_i`` and the other
    branches' paths. ``up[j - 1]`` is the 1x1 conv of every upsampling path that starts from
    branch j, its outputs stacked for targets 0 .. j-1. The downsampling paths into output i
    run up to their last 1x1 convolution; those convolutions then add up into one sum with
    their biases added once (``down_bias{i}``); in the channels-last targets each output
    accumulates in place, the 1x1 convolutions adding their products straight into it.
    """

    def __init__(self, fuse: FuseLayers, kernel: bool = False):
        super().__init__()
        n = len(fuse)
        self.channels = list(fuse.channels)
        self.up = nn.ModuleList()
        for j in range(1, n):
            folded = [fold_conv_norm(fuse[i][j][0], fuse[i][j][1], f'fuse_layers.{i}.{j}')
                      for i in range(j)]
            self.up.append(FoldedConv(torch.cat([w for w, _ in folded]),
                                      torch.cat([b for _, b in folded])))
        self.down = nn.ModuleList([
            nn.ModuleList([
                Chain(*[
                    Separable(link, 2.0 if j == 0 and k == len(fuse[i][j]) - 1 else 1.0,
                              f'fuse_layers.{i}.{j}', kernel)
                    for k, link in enumerate(fuse[i][j])
                ]) for j in range(i)
            ]) for i in range(n)
        ])
        for i in range(n):
            for path in self.down[i]:
                if path[-1].pointwise.act is not None:  # summed before the output's ReLU
                    raise TypeError('fuse_layers: the last 1x1 conv of a downsampling path '
                                    'has an activation; the deploy form sums the paths first')
            self.register_buffer(f'down_bias{i}', self._down_bias(i), persistent=False)
        # a state dict loaded into the deploy form brings other biases: sum them again
        self.register_load_state_dict_post_hook(_sum_down_biases_after_load)

    def _down_bias(self, i: int) -> torch.Tensor:
        """The biases of the last 1x1 convolutions of the paths into output i, summed."""
        biases = [path[-1].pointwise.bias.detach() for path in self.down[i]]
        return sum(biases, torch.zeros_like(biases[0])) if biases else \
            torch.zeros(self.channels[i])

    def sum_down_biases(self) -> None:
        """Sum the paths' biases again (after their biases changed)."""
        with torch.no_grad():
            for i in range(len(self.channels)):
                getattr(self, f'down_bias{i}').copy_(self._down_bias(i))

    def _upsampled_sums(self, x: List[torch.Tensor], target: str, inplace: bool):
        """For each target i < n-1, the sum of its upsampling paths, and the factor that
        still upsamples it onto branch i.

        Nearest upsampling is linear and composes (x4 = x2 twice) when every branch is
        exactly half the size of the one above (inputs divisible by 32): then the paths into
        target i add up from the lowest resolution, one x2 step at a time (Horner's scheme),
        and the sum is returned at the resolution of branch i + 1 (factor 2), so that no path
        is upsampled to the full resolution on its own. Otherwise each path is resampled onto
        branch i's exact size (factor 1).
        """
        n = len(x)
        ups = [()] + [torch.split(conv(x[j], target), self.channels[:j], dim=1)
                      for j, conv in zip(range(1, n), self.up)]
        halves = all(x[j - 1].shape[-2] == 2 * x[j].shape[-2]
                     and x[j - 1].shape[-1] == 2 * x[j].shape[-1] for j in range(1, n))
        sums: List[Optional[torch.Tensor]] = []
        for i in range(n - 1):
            if halves:
                total = ups[n - 1][i]
                for j in range(n - 2, i, -1):
                    total = add_upsampled(ups[j][i], total, 2, target, inplace)
            else:
                size = x[i].shape[-2:]
                total = upsample_to(ups[i + 1][i], size, 2)
                for j in range(i + 2, n):
                    total = add_upsampled(total, upsample_to(ups[j][i], size, 2**(j - i)), 1,
                                          target, inplace)
            sums.append(total)
        return sums + [None], (2 if halves else 1)

    @staticmethod
    def _to_last_pointwise(path: Chain, x: torch.Tensor, target: str) -> torch.Tensor:
        """Run a downsampling path up to (not including) its last 1x1 conv."""
        for link in path[:-1]:
            x = link(x, target)
        return path[-1].depthwise(x, target)

    def forward(self, x: List[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        n = len(x)
        inplace = target in CHANNELS_LAST  # sums built in tensors of their own, in place
        sums, factor = self._upsampled_sums(x, target, inplace)
        z0 = add_upsampled(x[0] * 2, sums[0], factor, target, inplace)
        from_z0 = [None] + [self._to_last_pointwise(self.down[i][0], z0, target)
                            for i in range(1, n)]
        out = [activate(z0, 'relu', inplace)]  # z0 is read only through from_z0 from here on
        for i in range(1, n):
            acc = self.down[i][0][-1].pointwise.linear(from_z0[i], target,
                                                       getattr(self, f'down_bias{i}'))
            for j in range(1, i):
                path = self.down[i][j]
                acc = path[-1].pointwise.accumulate(
                    acc, self._to_last_pointwise(path, x[j], target), target)
            acc = acc.add_(x[i]) if inplace else acc + x[i]
            if sums[i] is not None:
                acc = add_upsampled(acc, sums[i], factor, target, inplace)
            out.append(activate(acc, 'relu', inplace))
        return out


def _sum_down_biases_after_load(module: DeployFuseLayers, incompatible_keys) -> None:
    module.sum_down_biases()  # a function of the module, so that the form still pickles


class DeployLiteHRModule(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.LiteHRModule` in deploy form."""

    def __init__(self, module: LiteHRModule, kernel: bool = False):
        super().__init__()
        self.layers = to_deploy(module.layers, kernel)
        self.fuse_layers = to_deploy(module.fuse_layers, kernel)

    def forward(self, x: List[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        return self.fuse_layers(self.layers(list(x), target), target)


class DeployIterativeHead(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.IterativeHead` in deploy form."""

    def __init__(self, head: IterativeHead, kernel: bool = False):
        super().__init__()
        self.projects = nn.ModuleList([
            Chain(from_conv_module(p.depthwise_conv, 'head depthwise conv', kernel),
                  from_conv_module(p.pointwise_conv, 'head pointwise conv'))
            for p in head.projects
        ])

    def forward(self, x: Sequence[torch.Tensor], target: str = PORTABLE) -> List[torch.Tensor]:
        return refine_low_to_high(x, self.projects, target)


_CONVERTERS = [
    (Stem, DeployStem),
    (Transition, DeployTransition),
    (ConditionalChannelWeighting, DeployConditionalChannelWeighting),
    (ShuffleUnit, DeployShuffleUnit),
    (FuseLayers, DeployFuseLayers),
    (LiteHRModule, DeployLiteHRModule),
    (IterativeHead, DeployIterativeHead),
]


def to_deploy(module: nn.Module, kernel: Optional[bool] = None) -> nn.Module:
    """The deploy form of a training module of the backbone (or of a container of them).

    ``kernel``: run its depthwise 3x3 convolutions in the hand-written kernel in the
    channels-last targets; by default what ``LITEHRNET_MM_KERNELS`` says now (read once here,
    kept by the form).
    """
    if kernel is None:
        kernel = kernels.kernels_enabled()
    for training_cls, deploy_cls in _CONVERTERS:
        if isinstance(module, training_cls):
            return deploy_cls(module, kernel)
    if isinstance(module, nn.Identity):
        return Identity()
    if isinstance(module, ParallelBranches):
        return DeployParallelBranches([to_deploy(m, kernel) for m in module])
    if type(module) is nn.Sequential:
        return Chain(*[to_deploy(m, kernel) for m in module])
    raise TypeError(f'no deploy form for {type(module).__name__}')
