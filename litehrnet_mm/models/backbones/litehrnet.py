# Lite-HRNet backbone. The architecture is the one of Yu et al., "Lite-HRNet: A Lightweight
# High-Resolution Network" (CVPR 2021) and of its reference code, HRNet/Lite-HRNet (Apache-2.0),
# as adapted by MMPose (Apache-2.0); module names follow MMPose so its checkpoints load as they are.
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...registry import MODELS
from ..blocks import IterativeHead, LiteHRModule, Stem
from ..blocks.fusion import make_transition, run_transition
from .arch import ARCH_SETTINGS, arch_to_extra, validate_extra


@MODELS.register_module()
class LiteHRNet(BaseModule):
    """Lite-HRNet backbone, for pose estimation and dense prediction.

    Args:
        arch (str): A named variant: ``'18'``, ``'30'``, ``'naive-18'`` or
            ``'wider-naive-18'``. Used when ``extra`` is not given (default ``'18'``).
        extra (dict, optional): The OpenMMLab description of the network (``stem``,
            ``num_stages``, ``stages_spec``, ``with_head``), as in MMPose's configs.
        in_channels (int): Image channels. Default: 3.
        conv_cfg (dict, optional): Convolution layer config.
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN``, ``GN`` where the group count
            divides every normalised width, ...). Default: ``dict(type='BN')``.
        norm_eval (bool): Keep norm layers in eval mode (frozen statistics) during training.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and the first k
            stages with their transitions.
        with_cp (bool): Gradient checkpointing of every block (saves training memory;
            outputs, gradients and BatchNorm statistics are unchanged).
        with_head (bool, optional): Add the IterativeHead. ``None`` takes ``extra['with_head']``
            (True for named variants).
        out_indices (Sequence[int]): Which resolutions to return, 0 being the highest (1/4 of
            the input). Default: ``(0, )``, as MMPose's class. ``(0, 1, 2, 3)`` for dense
            prediction.
        deploy (bool): Fold every BatchNorm into its convolution on the first forward in eval
            mode (after the weights are loaded): the fast inference form. Same as calling
            :meth:`switch_to_deploy` after loading. Default: False.
        init_cfg (dict or list[dict], optional): MMEngine initialisation config.
        pretrained (str, optional): Deprecated; checkpoint path, same as
            ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    Attributes:
        out_channels (list[int]): Channels of each returned map.
        out_strides (list[int]): Stride of each returned map relative to the input.

    Example:
        >>> import torch
        >>> from litehrnet_mm.models import LiteHRNet
        >>> model = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)).eval()
        >>> for y in model(torch.rand(1, 3, 256, 192)):
        ...     print(tuple(y.shape))
        (1, 40, 64, 48)
        (1, 40, 32, 24)
        (1, 80, 16, 12)
        (1, 160, 8, 6)
    """

    def __init__(self,
                 arch: Optional[str] = None,
                 extra: Optional[dict] = None,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 with_head: Optional[bool] = None,
                 out_indices: Sequence[int] = (0, ),
                 deploy: bool = False,
                 init_cfg: Union[dict, List[dict], None] = [
                     dict(type='Normal', std=0.001, layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
                 ],
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ValueError(f'pretrained must be a checkpoint path (str), got {pretrained!r}')
            warnings.warn('`pretrained` is deprecated; use '
                          "init_cfg=dict(type='Pretrained', checkpoint=...)", DeprecationWarning)
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)

        if extra is not None and arch is not None:
            raise ValueError('give either `arch` (a named variant) or `extra` (a full '
                             'description), not both')
        if extra is None:
            extra = arch_to_extra(arch if arch is not None else '18')
        self.extra = validate_extra(extra)
        if with_head is not None:
            if not isinstance(with_head, bool):
                raise ValueError(f'with_head must be True, False or None, got {with_head!r}')
            self.extra['with_head'] = with_head
        if not (isinstance(in_channels, int) and in_channels >= 1):
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        self._check_norm_cfg(norm_cfg)

        spec = self.extra['stages_spec']
        self.num_stages = self.extra['num_stages']
        self.num_branches = spec['num_branches'][-1]
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be an int from -1 (nothing frozen) to '
                             f'num_stages={self.num_stages}, got {frozen_stages!r}')
        out_indices = tuple(out_indices) if isinstance(out_indices, (list, tuple)) \
            else (out_indices, )
        if not out_indices or any(not isinstance(i, int) or not 0 <= i < self.num_branches
                                  for i in out_indices):
            raise ValueError(f'out_indices must be ints in [0, {self.num_branches - 1}] (one '
                             f'per resolution of the last stage), got {out_indices!r}')

        self.in_channels = in_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.with_head = self.extra['with_head']
        self.out_indices = out_indices
        self.deploy = bool(deploy)
        self.deployed = False

        try:
            channels = self._build_layers()
        except ValueError as e:  # e.g. GroupNorm whose group count does not divide a width
            raise ValueError(f'norm_cfg {norm_cfg} cannot normalise a layer of this network: '
                             f'{e}') from None
        self.out_channels = [channels[i] for i in out_indices]
        self.out_strides = [2**(i + 2) for i in out_indices]
        self._freeze_stages()

    def _build_layers(self) -> List[int]:
        """Build stem, transitions, stages and head; return the output widths."""
        spec = self.extra['stages_spec']
        stem = self.extra['stem']
        self.stem = Stem(self.in_channels, stem['stem_channels'], stem['out_channels'],
                         stem['expand_ratio'], conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                         with_cp=self.with_cp)
        channels = [stem['out_channels']]
        for i in range(self.num_stages):
            stage_channels = spec['num_channels'][i]
            setattr(self, f'transition{i}',
                    make_transition(channels, stage_channels, self.conv_cfg, self.norm_cfg))
            setattr(self, f'stage{i}', nn.Sequential(*[
                LiteHRModule(stage_channels, spec['num_blocks'][i], spec['reduce_ratios'][i],
                             spec['module_type'][i], with_fuse=spec['with_fuse'][i],
                             conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                             with_cp=self.with_cp)
                for _ in range(spec['num_modules'][i])
            ]))
            channels = stage_channels
        if self.with_head:
            self.head_layer = IterativeHead(channels, norm_cfg=self.norm_cfg)
            channels = self.head_layer.out_channels
        return channels

    @property
    def min_input_size(self) -> int:
        """Smallest height and width: the lowest branch keeps at least one pixel at stride."""
        return 2**(self.num_branches + 1)

    @staticmethod
    def _check_norm_cfg(norm_cfg):
        if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
            raise ValueError(f"norm_cfg must be a dict with a 'type', got {norm_cfg!r}")
        try:
            build_norm_layer(dict(norm_cfg), 8)
        except KeyError as e:
            raise ValueError(f'norm_cfg type {norm_cfg["type"]!r} is not a registered norm '
                             f'layer ({e})') from None
        except ValueError:
            pass  # a width constraint (GroupNorm): checked on the real widths when building

    def _check_input(self, x: torch.Tensor):
        if x.dim() != 4:
            raise ValueError(f'LiteHRNet expects images as an (N, C, H, W) tensor, got shape '
                             f'{tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'LiteHRNet was built with in_channels={self.in_channels}, but the '
                             f'input has {x.shape[1]} channels (shape {tuple(x.shape)}); set '
                             f'in_channels or convert the images')
        h, w = x.shape[-2:]
        if h < self.min_input_size or w < self.min_input_size:
            raise ValueError(f'input {h}x{w} is too small: Lite-HRNet with {self.num_branches} '
                             f'branches needs height and width >= {self.min_input_size} (its '
                             f'lowest branch has stride {self.min_input_size})')

    def switch_to_deploy(self, test_cfg=None) -> None:
        """Switch to the inference form: BatchNorm folded into the convolutions.

        Call after loading the weights; the outputs equal the eval-mode outputs of the
        training form. The module can no longer be trained. (``test_cfg`` is accepted because
        MMPose's ``BasePoseEstimator.switch_to_deploy`` passes it.)
        """
        if self.deployed:
            return
        from ...deploy.fold_bn import fold_batchnorm
        super().train(False)
        fold_batchnorm(self)
        self.deployed = True

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.deploy and not self.deployed and not self.training:
            self.switch_to_deploy()
        if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
            self._check_input(x)
        y = [self.stem(x)]
        for i in range(self.num_stages):
            y = run_transition(getattr(self, f'transition{i}'), y)
            y = getattr(self, f'stage{i}')(y)
        if self.with_head:
            y = self.head_layer(y)
        return tuple(y[i] for i in self.out_indices)

    def _frozen_modules(self):
        if self.frozen_stages >= 0:
            yield self.stem
        for i in range(self.frozen_stages):
            yield getattr(self, f'transition{i}')
            yield getattr(self, f'stage{i}')

    def _freeze_stages(self):
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        """Set training mode, then re-apply ``frozen_stages`` and ``norm_eval``."""
        if mode and self.deployed:
            raise RuntimeError('LiteHRNet was switched to deploy (BatchNorm folded): it cannot '
                               'be trained; build a new model to train')
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


__all__ = ['LiteHRNet', 'ARCH_SETTINGS']
