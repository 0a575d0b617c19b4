# Lite-HRNet backbone. The architecture is the one of Yu et al., "Lite-HRNet: A Lightweight
# High-Resolution Network" (CVPR 2021) and of its reference code, HRNet/Lite-HRNet (Apache-2.0),
# as adapted by MMPose (Apache-2.0); module names follow MMPose so its checkpoints load as
# they are.
import traceback
import warnings
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...registry import MODELS
from ..blocks import IterativeHead, LiteHRModule, Stem, Transition
from ..utils import check_out_indices
from .arch import NetworkSpec, arch_to_extra, min_input_size, validate_extra

DEFAULT_INIT_CFG = [
    dict(type='Normal', std=0.001, layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]


def _raised_by_norm_layer(error: Exception) -> bool:
    """Whether ``error`` came from building a norm layer (e.g. GroupNorm whose group count does
    not divide a width), as opposed to any other part of the network."""
    frames = traceback.extract_tb(error.__traceback__)
    return any(f.name == 'build_norm_layer' for f in frames)


@MODELS.register_module()
class LiteHRNet(BaseModule):
    """Lite-HRNet backbone, for pose estimation and dense prediction.

    The positional arguments are those of MMPose's ``LiteHRNet``, so code written for it
    (``LiteHRNet(extra, in_channels=3)``) runs unchanged; the others are keyword-only.

    Args:
        extra (dict or str, optional): The OpenMMLab description of the network (``stem``,
            ``num_stages``, ``stages_spec``, ``with_head``), as in MMPose's configs, or the
            name of a variant (as ``arch``). Default: ``None``, which takes ``arch``.
        in_channels (int): Image channels. Default: 3.
        conv_cfg (dict, optional): Convolution layer config.
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN``, ``GN`` where the group count
            divides every normalised width, ...). Default: ``dict(type='BN')``.
        norm_eval (bool): Keep norm layers in eval mode (frozen statistics) during training.
        with_cp (bool): Gradient checkpointing of every block (saves training memory;
            outputs, gradients and BatchNorm statistics are unchanged).
        init_cfg (dict or list[dict], optional): MMEngine initialisation config.
        arch (str): A named variant: ``'18'``, ``'30'``, ``'naive-18'`` or
            ``'wider-naive-18'``. Used when ``extra`` is not given (default ``'18'``).
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and the first k
            stages with their transitions.
        with_head (bool, optional): Add the IterativeHead. ``None`` takes ``extra['with_head']``
            (True for named variants).
        out_indices (Sequence[int]): Which resolutions to return, 0 being the highest (1/4 of
            the input). Default: ``(0, )``, as MMPose's class. ``(0, 1, 2, 3)`` for dense
            prediction.
        deploy (bool): Switch to the inference form (:meth:`switch_to_deploy`) on the first
            forward in eval mode, after the weights are loaded. Default: False.
        pretrained (str, optional): Deprecated; checkpoint path, same as
            ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    Attributes:
        spec (NetworkSpec): The network, parsed from ``extra``.
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
                 extra: Union[dict, str, None] = None,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Union[dict, List[dict], None] = DEFAULT_INIT_CFG,
                 *,
                 arch: Optional[str] = None,
                 frozen_stages: int = -1,
                 with_head: Optional[bool] = None,
                 out_indices: Sequence[int] = (0, ),
                 deploy: bool = False,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ValueError(f'pretrained must be a checkpoint path (str), got {pretrained!r}')
            warnings.warn('`pretrained` is deprecated; use '
                          "init_cfg=dict(type='Pretrained', checkpoint=...)", DeprecationWarning)
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)

        self.spec = self._parse_spec(extra, arch, with_head)
        if not (isinstance(in_channels, int) and in_channels >= 1):
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        self._check_norm_cfg(norm_cfg)
        self.num_stages = len(self.spec.stages)
        self.num_branches = self.spec.stages[-1].num_branches
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be an int from -1 (nothing frozen) to '
                             f'num_stages={self.num_stages}, got {frozen_stages!r}')
        self.out_indices = check_out_indices(out_indices, self.num_branches,
                                             'LiteHRNet', 'one per resolution of the last stage')

        self.extra = self.spec.to_extra()
        self.in_channels = in_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.with_head = self.spec.with_head
        self.deploy = bool(deploy)
        self.deployed = False
        self.deploy_form = None  # what runs the parts once switched to deploy

        try:
            channels = self._build_layers()
        except ValueError as e:
            if not _raised_by_norm_layer(e):
                raise
            raise ValueError(f'norm_cfg {norm_cfg} cannot normalise a layer of this network: '
                             f'{e}') from None
        self.out_channels = [channels[i] for i in self.out_indices]
        self.out_strides = [2**(i + 2) for i in self.out_indices]
        self._freeze_stages()

    @staticmethod
    def _parse_spec(extra, arch, with_head) -> NetworkSpec:
        if isinstance(extra, str):  # LiteHRNet('18'): a named variant given first
            if arch is not None:
                raise ValueError(f'give the variant once: extra={extra!r} and arch={arch!r}')
            extra, arch = None, extra
        if extra is not None and arch is not None:
            raise ValueError('give either `arch` (a named variant) or `extra` (a full '
                             'description), not both')
        if extra is None:
            if arch is not None and not isinstance(arch, str):
                raise ValueError(f'arch must be the name of a variant (str), got {arch!r}')
            extra = arch_to_extra(arch if arch is not None else '18')
        elif not isinstance(extra, dict):
            raise ValueError(f'LiteHRNet: the first argument must be the `extra` dict of '
                             f"MMPose's configs or a variant name such as '18', got "
                             f'{type(extra).__name__} {extra!r}')
        spec = validate_extra(extra)
        if with_head is not None:
            if not isinstance(with_head, bool):
                raise ValueError(f'with_head must be True, False or None, got {with_head!r}')
            spec = NetworkSpec(spec.stem, spec.stages, with_head)
        return spec

    def _build_layers(self) -> List[int]:
        """Build stem, transitions, stages and head from ``self.spec``; return the output
        widths."""
        layer = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
        stem = self.spec.stem
        self.stem = Stem(self.in_channels, stem.stem_channels, stem.out_channels,
                         stem.expand_ratio, with_cp=self.with_cp, **layer)
        channels = [stem.out_channels]
        for i, stage in enumerate(self.spec.stages):
            setattr(self, f'transition{i}', Transition(channels, stage.channels, **layer))
            setattr(self, f'stage{i}', nn.Sequential(*[
                LiteHRModule(stage.channels, stage.num_blocks, stage.reduce_ratio, stage.block,
                             with_fuse=stage.with_fuse, with_cp=self.with_cp, **layer)
                for _ in range(stage.num_modules)
            ]))
            channels = list(stage.channels)
        if self.with_head:
            self.head_layer = IterativeHead(channels, **layer)
            channels = self.head_layer.out_channels
        return channels

    @property
    def min_input_size(self) -> int:
        """Smallest height and width: the lowest branch keeps at least one pixel at stride."""
        return min_input_size(self.num_branches)

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
            pass  # a width constraint (GroupNorm): checked on the real widths

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

    #: ``make(backbone, target, kernel) -> DeployForm``: converts a backbone's parts to the
    #: inference form in place and returns what runs them. Registered by
    #: :mod:`litehrnet_mm.deploy`, which builds the form from these modules (and is imported
    #: with ``litehrnet_mm``).
    _make_deploy_form: Optional[Callable] = None

    @classmethod
    def register_deploy_form(cls, make: Callable) -> None:
        cls._make_deploy_form = staticmethod(make)

    def switch_to_deploy(self, test_cfg=None, target: Optional[str] = None,
                         kernel: Optional[bool] = None) -> None:
        """Replace the training modules by the inference form (``litehrnet_mm.deploy``).

        Call after loading the weights; the outputs equal the eval-mode outputs of the
        training form. The module can no longer be trained, and its state dict is no longer
        the checkpoint layout. ``target`` is what the form runs when nothing traces it
        (``'eager'`` where oneDNN is usable, else ``'onnx'``; see
        :class:`litehrnet_mm.deploy.DeployForm`); ``kernel`` whether its depthwise 3x3
        convolutions use the hand-written kernel (default: ``LITEHRNET_MM_KERNELS``, read
        now). (``test_cfg`` is accepted because MMPose's ``BasePoseEstimator.switch_to_deploy``
        passes it.)
        """
        if self.deployed:
            form = self.deploy_form
            if target is not None and target != form.target:
                raise ValueError(f'this backbone is already in deploy form for target '
                                 f'{form.target!r}; build another from the checkpoint for '
                                 f'target {target!r}')
            if kernel is not None and kernel != form.kernel:
                raise ValueError(f'this backbone is already in deploy form with kernel='
                                 f'{form.kernel}; build another from the checkpoint for '
                                 f'kernel={kernel}')
            return
        if LiteHRNet._make_deploy_form is None:
            raise RuntimeError('the deploy form is not registered: import litehrnet_mm')
        super().train(False)
        self.deploy_form = LiteHRNet._make_deploy_form(self, target, kernel)
        self.deployed = True

    def part_names(self) -> Iterator[str]:
        """The attribute names of the parts, in the order they run."""
        yield 'stem'
        for i in range(self.num_stages):
            yield f'transition{i}'
            yield f'stage{i}'
        if self.with_head:
            yield 'head_layer'

    def run_parts(self, x: torch.Tensor, *args) -> List[torch.Tensor]:
        """Stem, transitions, stages and head on ``x``, each called with ``args`` after its
        input (the deploy form passes its target); every branch of the last part."""
        y = [self.stem(x, *args)]
        for i in range(self.num_stages):
            y = getattr(self, f'transition{i}')(y, *args)
            y = getattr(self, f'stage{i}')(y, *args)
        if self.with_head:
            y = self.head_layer(y, *args)
        return y

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.deploy and not self.deployed and not self.training:
            self.switch_to_deploy()
        if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
            self._check_input(x)
        if self.deployed:
            return self.deploy_form(self, x)
        y = self.run_parts(x)
        return tuple(y[i] for i in self.out_indices)

    def _frozen_modules(self) -> Iterator[nn.Module]:
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

    def train(self, mode: bool = True) -> 'LiteHRNet':
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

    #: Set to True on a model to let a load leave some of its weights at their current values
    #: (for example a checkpoint without the IterativeHead into a model with it).
    allow_partial_load = False

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Refuse a load that leaves weights of this backbone missing.

        MMEngine's ``load_from`` and MMPose's and MMSeg's ``init_model`` load non-strictly, so
        a checkpoint of another model would otherwise leave random weights in place and give
        meaningless predictions without an error. (``num_batches_tracked``, absent from old
        checkpoints, may be missing, as MMEngine allows.)
        """
        missing = [k for k in self.state_dict(prefix=prefix)
                   if k not in state_dict and not k.endswith('num_batches_tracked')]
        if missing and not self.allow_partial_load:
            where = f' under {prefix!r}' if prefix else ''
            raise RuntimeError(
                f'LiteHRNet: the state dict being loaded lacks {len(missing)} of its weights'
                f'{where} (first: {missing[:3]}), which would keep their initial values: it '
                f'is not a checkpoint of this backbone (another model, arch or with_head?). '
                f'Use the config the checkpoint was trained with; to load it anyway, set '
                f'allow_partial_load = True on the backbone.')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self) -> None:
        """Initialise the weights (``init_cfg``); refused with ``deploy=True``.

        MMEngine's runner initialises a model's weights only to train it (before the first
        iteration), and a deploy model folds its BatchNorm at its first eval-mode forward, after
        which it cannot train.
        """
        if self.deploy:
            raise ValueError(
                'LiteHRNet(deploy=True) is an inference setting (BatchNorm is folded at the '
                'first eval-mode forward, after which the model cannot be trained), but the '
                'model is being initialised for training: remove deploy=True from the training '
                'config and set it only where the model is tested or exported.')
        super().init_weights()
