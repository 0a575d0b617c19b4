"""What the tests and the benchmarks share to check our model against the reference: MMPose's
``LiteHRNet`` beside ours with the same weights, weights that make a wrong model visible, and
closeness relative to the scale of the output.

    from litehrnet_mm.testing import assert_close, randomized_pair
    reference, ours = randomized_pair('18')
    assert_close(ours(x)[0], reference(x)[0])
"""
from typing import Tuple

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from .models import ARCH_SETTINGS, LiteHRNet, arch_to_extra

__all__ = ['ARCHS', 'WIDTHS', 'branches', 'mmpose_litehrnet', 'mmpose_and_ours', 'randomize',
           'randomized_pair', 'assert_close', 'unscoped']

#: every named variant
ARCHS = sorted(ARCH_SETTINGS)
#: Lite-HRNet-18's branch widths
WIDTHS = (40, 80, 160, 320)


def branches(channels, h: int = 32, w: int = 24, batch: int = 2):
    """One random feature map per branch of ``channels``, each half the size of the previous
    (rounded up), the first ``h`` x ``w``."""
    out = []
    for c in channels:
        out.append(torch.randn(batch, c, h, w))
        h, w = (h + 1) // 2, (w + 1) // 2
    return out


def mmpose_litehrnet(arch: str, with_head: bool = True) -> torch.nn.Module:
    """MMPose's own ``LiteHRNet`` of a named variant (the reference implementation)."""
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet
    return MMPoseLiteHRNet(arch_to_extra(arch, with_head=with_head))


def mmpose_and_ours(arch: str, with_head: bool = True,
                    **kwargs) -> Tuple[torch.nn.Module, LiteHRNet]:
    """MMPose's ``LiteHRNet`` of a named variant (the reference) and ours with the same
    weights (``kwargs`` go to ours)."""
    reference = mmpose_litehrnet(arch, with_head)
    ours = LiteHRNet(arch=arch, with_head=with_head, **kwargs)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and BatchNorm buffer non-trivial values (in place; returns
    ``model``).

    The default initialisation (convolutions with std 0.001) makes outputs so small that a
    wrong model could still pass a tolerance check; these values keep activations of order
    one through the network.
    """
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.dim() > 1:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=g) * (1.0 / fan_in)**0.5)
        elif name.endswith('weight'):
            p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model


def randomized_pair(arch: str, with_head: bool = True, seed: int = 0,
                    **kwargs) -> Tuple[torch.nn.Module, LiteHRNet]:
    """MMPose's ``LiteHRNet`` with non-trivial weights (:func:`randomize`), and ours with the
    same weights."""
    reference, ours = mmpose_and_ours(arch, with_head, **kwargs)
    randomize(reference, seed)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


def assert_close(actual: torch.Tensor, expected: torch.Tensor, rel: float = 1e-4) -> None:
    """Element-wise closeness relative to the scale of ``expected`` (its largest magnitude)."""
    scale = expected.abs().max().item() + 1e-12
    torch.testing.assert_close(actual, expected, rtol=rel, atol=rel * scale)


def unscoped(x):
    """A config value without the ``_scope_`` keys MMEngine adds to dicts inherited through
    ``mmpose::`` / ``mmseg::`` bases."""
    if isinstance(x, dict):
        return {k: unscoped(v) for k, v in x.items() if k != '_scope_'}
    if isinstance(x, (list, tuple)):
        return type(x)(unscoped(v) for v in x)
    return x
