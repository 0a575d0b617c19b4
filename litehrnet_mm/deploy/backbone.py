"""The backbone in deploy form: its parts converted (:func:`make_deploy_form`), and how it runs
(:class:`DeployForm`), which the backbone calls once it is switched to deploy.

:func:`make_deploy_form` is registered with :class:`~litehrnet_mm.models.LiteHRNet` when this
package is imported (with ``litehrnet_mm``): the models sit below the deploy form and do not
import it.
"""
import contextlib
import warnings
import weakref
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..deprecation import REMOVED_IN
from ..models import LiteHRNet
from ..stamps import same_stamp
from . import onednn
from .kernels import Watch, kernels_enabled
from .layers import FoldedConv
from .modules import DeployFuseLayers, to_deploy
from .target import (CHANNELS_LAST, PORTABLE, TRACE_TARGETS, check_target, default_target)

__all__ = ['DeployForm', 'make_deploy_form', 'deploy_target', 'to_deploy_model',
           'deploy_forms', 'graph_target']


def _takes_channels_last(x: torch.Tensor, target: str) -> bool:
    """The channels-last targets run on float32 CPU tensors, the eager one without autograd
    (its oneDNN and kernel calls have no backward)."""
    return (x.device.type == 'cpu' and x.dtype == torch.float32
            and (target != 'eager' or not torch.is_grad_enabled()))


class DeployForm:
    """How a backbone in deploy form runs: which target its layers compute for, chosen once
    per forward and passed down to every layer.

    The target is, in this order: the one a trace was asked for (:func:`deploy_target`:
    ``'inductor'`` for :func:`~litehrnet_mm.backends.compile_model` and AOTInductor packages,
    ``'onnx'``/``'openvino'`` for the exports); ``'onnx'`` inside another ONNX export or
    TorchScript trace; ``'inductor'`` inside another ``torch.compile``; else the form's own
    target (``'eager'`` on CPUs with oneDNN). Inputs a channels-last target does not take
    (another device or dtype; autograd for ``'eager'``) run the portable target.

    ``'eager'`` needs oneDNN's operators (:mod:`.onednn`); where they are not usable (a form
    made or saved on another machine or torch), it runs the portable target.

    Outside a trace, each forward first checks the content of the layers' weights and biases
    (a :class:`~litehrnet_mm.deploy.kernels.Watch`, one pass over them): where they
    changed, however they were written (``.data`` included), what the layers derived from
    them (oneDNN-packed weights, the kernel's taps, the fuse layers' summed biases) is made
    again. The layers are listed once per backbone and set of parts (a part replaced is
    listed again).

    Args:
        target (str, optional): The target when nothing traces; default
            :func:`~litehrnet_mm.deploy.target.default_target`.
        kernel (bool): Whether the form's depthwise layers were made with the hand-written
            kernel (recorded; the layers hold it).
    """

    def __init__(self, target: Optional[str] = None, kernel: bool = False):
        self.target = check_target(target) if target is not None else default_target()
        self.kernel = kernel
        self.tracing_for: Optional[str] = None
        self._stamp = None  # of the weights the derived state was made from
        self._listed = None  # (key, layers, their weights and biases), listed on first use
        _FORMS.add(self)

    def resolve(self, x: torch.Tensor) -> str:
        """The target of a forward on ``x``."""
        target = self.tracing_for
        if target is None:
            if torch.jit.is_tracing() or torch.compiler.is_exporting():
                target = PORTABLE
            elif torch.compiler.is_compiling():
                target = 'inductor'
            else:
                target = self.target
        if target in CHANNELS_LAST and not _takes_channels_last(x, target):
            return PORTABLE
        if target == 'eager' and not onednn.available():
            return PORTABLE
        return target

    def __getstate__(self):  # a copy or a saved form traces nothing
        return {**self.__dict__, 'tracing_for': None, '_stamp': None, '_listed': None}

    def __setstate__(self, state):
        self.__dict__.update(state)
        _FORMS.add(self)

    def _layers(self, backbone: LiteHRNet) -> Tuple[list, Watch]:
        """The layers with derived state, and a watch of their weights and biases."""
        key = (id(backbone), *(id(getattr(backbone, name)) for name in backbone.part_names()))
        if self.__dict__.get('_listed') is None or self._listed[0] != key:
            layers = [m for m in backbone.modules()
                      if isinstance(m, (FoldedConv, DeployFuseLayers))]
            watch = Watch(t for m in layers if isinstance(m, FoldedConv)
                          for t in (m.weight, m.bias))
            self._listed = (key, layers, watch)
        return self._listed[1], self._listed[2]

    def _derive_again_if_changed(self, backbone: LiteHRNet) -> None:
        layers, watch = self._layers(backbone)
        stamp = watch.stamp()
        if not same_stamp(stamp, self._stamp):
            for layer in layers:
                if isinstance(layer, FoldedConv):
                    layer.forget_derived()
                else:
                    layer.sum_down_biases()
            self._stamp = stamp

    def __call__(self, backbone: LiteHRNet, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        target = self.resolve(x)
        traced = (self.tracing_for is not None or torch.jit.is_tracing()
                  or torch.compiler.is_compiling())
        if not traced:
            self._derive_again_if_changed(backbone)
        if target in CHANNELS_LAST:
            x = x.contiguous(memory_format=torch.channels_last)
        y = backbone.run_parts(x, target)
        outputs = [y[i] for i in backbone.out_indices]
        if target == 'eager':  # the heads get the standard layout
            outputs = [t.contiguous() for t in outputs]
        # for 'inductor' they stay channels-last: inductor inlines the copy to the standard
        # layout into the head's loads, and with MMSeg's FCN head at 512x1024 its index
        # simplification then ran for over 23 minutes (63 s without the copy)
        return tuple(outputs)

    def __repr__(self) -> str:
        return f'DeployForm(target={self.target!r}, kernel={self.kernel})'


#: every live deploy form (for the deprecated :func:`graph_target` only)
_FORMS: 'weakref.WeakSet[DeployForm]' = weakref.WeakSet()


def make_deploy_form(backbone: LiteHRNet, target: Optional[str] = None,
                     kernel: Optional[bool] = None) -> DeployForm:
    """Replace ``backbone``'s parts by their deploy form (:func:`~.modules.to_deploy`, with
    ``kernel``) and return how it runs (for ``target``)."""
    if kernel is None:
        kernel = kernels_enabled()  # read once for the whole backbone
    form = DeployForm(target, kernel)
    for name in backbone.part_names():
        setattr(backbone, name, to_deploy(getattr(backbone, name), kernel))
    return form


LiteHRNet.register_deploy_form(make_deploy_form)


def deploy_forms(model: nn.Module) -> List[DeployForm]:
    """The deploy forms of the Lite-HRNet backbones in ``model`` that are switched to deploy."""
    return [m.deploy_form for m in model.modules()
            if isinstance(m, LiteHRNet) and m.deployed]


@contextlib.contextmanager
def deploy_target(model: Union[nn.Module, Sequence[DeployForm]],
                  target: str) -> Iterator[None]:
    """Inside the block, the deployed Lite-HRNet backbones of ``model`` (a module, or their
    :func:`deploy_forms` found before) run for ``target`` (``'inductor'`` for
    ``torch.compile`` and AOTInductor, ``'onnx'`` or ``'openvino'`` for the ONNX exports): set
    before a trace, so that the trace records that target's layers."""
    if target not in TRACE_TARGETS:
        raise ValueError(f'deploy target of a trace must be one of {TRACE_TARGETS}, got '
                         f'{target!r}')
    forms = deploy_forms(model) if isinstance(model, nn.Module) else list(model)
    previous = [form.tracing_for for form in forms]
    for form in forms:
        form.tracing_for = target
    try:
        yield
    finally:
        for form, before in zip(forms, previous):
            form.tracing_for = before


def to_deploy_model(model: nn.Module, target: Optional[str] = None,
                    kernel: Optional[bool] = None) -> nn.Module:
    """Switch the Lite-HRNet backbone of an estimator or segmentor to its deploy form (in
    place, with ``target`` and ``kernel`` as :meth:`LiteHRNet.switch_to_deploy`; other
    backbones are left as they are). Returns ``model``."""
    backbone = getattr(model, 'backbone', None)
    if isinstance(backbone, LiteHRNet):
        backbone.switch_to_deploy(target=target, kernel=kernel)
    return model


@contextlib.contextmanager
def graph_target(target: str) -> Iterator[None]:
    """Deprecated (0.1's global switch): :func:`deploy_target` on every deploy form that
    exists when the block starts."""
    warnings.warn(f'litehrnet_mm.deploy.graph_target(target) is now deploy_target(model, '
                  f'target); the old name goes in litehrnet-mm {REMOVED_IN}',
                  DeprecationWarning, stacklevel=3)
    with deploy_target(list(_FORMS), target):
        yield
