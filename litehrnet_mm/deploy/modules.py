"""The inference form of Lite-HRNet: its own modules, derived from trained training modules.

``LiteHRNet.switch_to_deploy()`` replaces each part of the backbone (stem, transitions, stages,
IterativeHead) by :func:`to_deploy` of it. Every module here computes exactly what its training
counterpart computes in eval mode, reformulated for fewer and cheaper operations:

- every BatchNorm is folded into the convolution before it;
- concat + channel shuffle is one copy (``torch.stack(..., 2)``);
- the spatial weightings (squeeze-excitation on 1x1 maps) of all branches of a block run as two
  matrix products with block-diagonal weights, instead of two 1x1 convolutions per branch;
- in the fuse layers, the path that the reference runs twice (the fuse quirk) has its last
  convolution's weights doubled, and the 1x1 convolutions that read the same branch on their
  way up are one convolution;
- additions accumulate in place.

Outputs equal the training form's within float rounding (summation order). The modules hold
plain ``Conv2d``/``Linear`` layers, so they export to ONNX and compile like the training form.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import nn

from ..models.blocks import (ConditionalChannelWeighting, DownsamplePath, FuseLayers,
                             IterativeHead, LiteHRModule, ParallelBranches, SeparableConvNorm,
                             ShuffleUnit, Stem, Transition, UpsamplePath, channel_shuffle,
                             split_halves)
from ..models.blocks.resample import pool_to, upsample_to
from .fold import conv_from, fold_conv_module, fold_conv_norm


def shuffle_concat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(torch.cat([a, b], 1), 2)`` in one copy when the halves are equal."""
    if a.shape[1] == b.shape[1]:
        return torch.stack([a, b], 2).flatten(1, 2)
    return channel_shuffle(torch.cat([a, b], 1), 2)


class ConvAct(nn.Module):
    """A convolution (BatchNorm folded in) followed by ``act``: None, 'relu' or 'sigmoid'."""

    def __init__(self, conv: nn.Conv2d, act: Optional[str] = None):
        super().__init__()
        if act not in (None, 'relu', 'sigmoid'):
            raise ValueError(f'act must be None, relu or sigmoid, got {act!r}')
        self.conv = conv
        self.act = act

    @classmethod
    def from_conv_module(cls, m: ConvModule, where: str = 'ConvModule') -> 'ConvAct':
        act = None
        if m.with_activation:
            act = {nn.ReLU: 'relu', nn.Sigmoid: 'sigmoid'}.get(type(m.activate))
            if act is None:
                raise TypeError(f'{where}: no deploy form for activation '
                                f'{type(m.activate).__name__}')
        weight, bias = fold_conv_module(m, where)
        c = m.conv
        return cls(conv_from(weight, bias, c.stride, c.padding, c.groups), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.act == 'relu':
            return torch.relu(y)
        if self.act == 'sigmoid':
            return torch.sigmoid(y)
        return y

    def extra_repr(self) -> str:
        return f'act={self.act}'


class Separable(nn.Sequential):
    """Depthwise 3x3 conv then 1x1 conv (BatchNorms folded), ReLU or not."""

    @classmethod
    def from_training(cls, m: SeparableConvNorm, scale: float = 1.0) -> 'Separable':
        """``scale`` (> 0) multiplies the output; it is folded into the 1x1 conv (a ReLU after
        it commutes with a positive scale)."""
        if scale <= 0:
            raise ValueError(f'scale must be positive, got {scale}')
        dw, dw_norm, pw, pw_norm = m[0], m[1], m[2], m[3]
        w, b = fold_conv_norm(dw, dw_norm, 'separable depthwise conv')
        layers = [conv_from(w, b, dw.stride, dw.padding, dw.groups)]
        w, b = fold_conv_norm(pw, pw_norm, 'separable 1x1 conv')
        layers.append(conv_from(w * scale, b * scale))
        if len(m) > 4:
            layers.append(nn.ReLU())
        return cls(*layers)


class DeployStem(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.Stem` with BatchNorms folded."""

    def __init__(self, stem: Stem):
        super().__init__()
        convert = ConvAct.from_conv_module
        self.conv1 = convert(stem.conv1, 'stem.conv1')
        self.branch1 = nn.Sequential(*[convert(m, 'stem.branch1') for m in stem.branch1])
        self.branch2 = nn.Sequential(convert(stem.expand_conv, 'stem.expand_conv'),
                                     convert(stem.depthwise_conv, 'stem.depthwise_conv'),
                                     convert(stem.linear_conv, 'stem.linear_conv'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        a, b = split_halves(x)
        return shuffle_concat(self.branch1(a), self.branch2(b))


def _deploy_chain(m: nn.Module) -> nn.Module:
    if isinstance(m, nn.Identity):
        return m
    if isinstance(m, SeparableConvNorm):
        return Separable.from_training(m)
    return nn.Sequential(*[Separable.from_training(link) for link in m])


class DeployTransition(nn.ModuleList):
    """:class:`~litehrnet_mm.models.blocks.Transition` with BatchNorms folded."""

    def __init__(self, transition: Transition):
        super().__init__([_deploy_chain(m) for m in transition])

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        last = len(x) - 1
        return [layer(x[min(i, last)]) for i, layer in enumerate(self)]


def _block_diagonal_linear(convs: Sequence[ConvModule]) -> nn.Linear:
    """One Linear layer doing the 1x1 convs of ``convs`` (each on its own input slice)."""
    weights, biases = zip(*[fold_conv_module(c, 'spatial weighting') for c in convs])
    weight = torch.block_diag(*[w[:, :, 0, 0] for w in weights])
    linear = nn.Linear(weight.shape[1], weight.shape[0]).to(weight)
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(torch.cat(biases))
    return linear


class DeployConditionalChannelWeighting(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.ConditionalChannelWeighting`, with BatchNorms
    folded and the spatial weightings of all branches batched into two matrix products."""

    def __init__(self, block: ConditionalChannelWeighting):
        super().__init__()
        crw = block.cross_resolution_weighting
        self.channels = list(crw.channels)
        self.crw1 = ConvAct.from_conv_module(crw.conv1, 'cross_resolution_weighting.conv1')
        self.crw2 = ConvAct.from_conv_module(crw.conv2, 'cross_resolution_weighting.conv2')
        self.depthwise_convs = nn.ModuleList(
            [ConvAct.from_conv_module(m, 'depthwise_convs') for m in block.depthwise_convs])
        self.se1 = _block_diagonal_linear([sw.conv1 for sw in block.spatial_weighting])
        self.se2 = _block_diagonal_linear([sw.conv2 for sw in block.spatial_weighting])

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        last = len(x) - 1
        kept, weighted = zip(*[split_halves(s) for s in x])
        smallest = x[-1].shape[-2:]
        pooled = [pool_to(s, smallest, 2**(last - i)) for i, s in enumerate(weighted)]
        crw = self.crw2(self.crw1(torch.cat(pooled, dim=1)))
        weighted = [
            dw(s * upsample_to(w, s.shape[-2:], 2**(last - i), mode='nearest'))
            for i, (s, w, dw) in enumerate(
                zip(weighted, torch.split(crw, self.channels, dim=1), self.depthwise_convs))
        ]
        means = torch.cat([s.mean((2, 3)) for s in weighted], dim=1)
        se = torch.sigmoid(self.se2(torch.relu(self.se1(means))))
        return [
            shuffle_concat(k, s * w[:, :, None, None])
            for k, s, w in zip(kept, weighted, torch.split(se, self.channels, dim=1))
        ]


class DeployShuffleUnit(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.ShuffleUnit` with BatchNorms folded."""

    def __init__(self, unit: ShuffleUnit):
        super().__init__()
        self.branch2 = nn.Sequential(
            *[ConvAct.from_conv_module(m, 'shuffle unit') for m in unit.branch2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, transformed = split_halves(x)
        return shuffle_concat(kept, self.branch2(transformed))


class DeployFuseLayers(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.FuseLayers` in eval mode, with the fuse quirk
    folded into the weights.

    Output 0 is ``relu(z0)``, ``z0 = 2 x0 + sum_j up_0j(x_j)``; output i > 0 sums ``2
    down_i0(z0)`` (the doubling is in the last 1x1 conv of that path), ``x_i`` and the other
    branches' paths. The upsampling paths from one source branch j to every i < j share one
    1x1 convolution with stacked outputs (nearest upsampling commutes with it).
    """

    def __init__(self, fuse: FuseLayers):
        super().__init__()
        n = len(fuse)
        self.channels = list(fuse.channels)
        self.num_branches = n
        # up[j - 1]: the merged 1x1 conv of source j, outputs for targets 0 .. j-1
        up = []
        for j in range(1, n):
            paths: List[UpsamplePath] = [fuse[i][j] for i in range(j)]
            folded = [fold_conv_norm(p[0], p[1], f'fuse_layers.{i}.{j}')
                      for i, p in enumerate(paths)]
            up.append(conv_from(torch.cat([w for w, _ in folded]),
                                torch.cat([b for _, b in folded])))
        self.up = nn.ModuleList(up)
        # down[i][j] for j < i (the last link of down[i][0] scaled by 2: the fuse quirk)
        self.down = nn.ModuleList([
            nn.ModuleList([self._down(fuse[i][j], 2.0 if j == 0 else 1.0) for j in range(i)])
            for i in range(n)
        ])

    @staticmethod
    def _down(path: DownsamplePath, scale: float) -> nn.Sequential:
        links = [Separable.from_training(link) for link in path]
        links[-1] = Separable.from_training(path[-1], scale=scale)
        return nn.Sequential(*links)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        n = self.num_branches
        sizes = [s.shape[-2:] for s in x]
        # up_from[j][i]: branch j's 1x1 conv output for target i (before upsampling)
        up_from = [None] + [torch.split(conv(x[j]), self.channels[:j], dim=1)
                            for j, conv in zip(range(1, n), self.up)]
        z0 = x[0] * 2
        for j in range(1, n):
            z0 = z0 + upsample_to(up_from[j][0], sizes[0], 2**j)
        out = [torch.relu(z0)]
        for i in range(1, n):
            y = self.down[i][0](z0)
            for j in range(1, n):
                if j == i:
                    y = y + x[i]
                elif j < i:
                    y = y + self.down[i][j](x[j])
                else:
                    y = y + upsample_to(up_from[j][i], sizes[i], 2**(j - i))
            out.append(torch.relu(y))
        return out


class DeployLiteHRModule(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.LiteHRModule` in its deploy form."""

    def __init__(self, module: LiteHRModule):
        super().__init__()
        self.layers = to_deploy(module.layers)
        self.fuse_layers = to_deploy(module.fuse_layers)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return self.fuse_layers(self.layers(list(x)))


class DeployIterativeHead(nn.Module):
    """:class:`~litehrnet_mm.models.blocks.IterativeHead` with BatchNorms folded."""

    def __init__(self, head: IterativeHead):
        super().__init__()
        self.projects = nn.ModuleList([
            nn.Sequential(ConvAct.from_conv_module(p.depthwise_conv, 'head depthwise conv'),
                          ConvAct.from_conv_module(p.pointwise_conv, 'head pointwise conv'))
            for p in head.projects
        ])

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        y: List[torch.Tensor] = []
        for s, project in zip(list(x)[::-1], self.projects):
            if y:
                s = s + upsample_to(y[-1], s.shape[-2:], 2, mode='bilinear',
                                    align_corners=True)
            y.append(project(s))
        return y[::-1]


_CONVERTERS = [
    (Stem, DeployStem),
    (Transition, DeployTransition),
    (ConditionalChannelWeighting, DeployConditionalChannelWeighting),
    (ShuffleUnit, DeployShuffleUnit),
    (FuseLayers, DeployFuseLayers),
    (LiteHRModule, DeployLiteHRModule),
    (IterativeHead, DeployIterativeHead),
]


def to_deploy(module: nn.Module) -> nn.Module:
    """The deploy form of a training module of the backbone (or of a container of them)."""
    for training_cls, deploy_cls in _CONVERTERS:
        if isinstance(module, training_cls):
            return deploy_cls(module)
    if isinstance(module, nn.Identity):
        return module
    if isinstance(module, ParallelBranches):
        return ParallelBranches([to_deploy(m) for m in module])
    if type(module) is nn.Sequential:
        return nn.Sequential(*[to_deploy(m) for m in module])
    raise TypeError(f'no deploy form for {type(module).__name__}')
