"""Whether tensors changed: a fingerprint of their contents.

A checkpoint loaded into a model, an optimiser step or an in-place write bump a tensor's
version counter, but a write through ``.data`` (MMEngine's ``EMAHook`` swaps the averaged
weights in this way, ``torch.nn.utils.vector_to_parameters`` assigns ``.data``) bumps none. What
is derived from weights (a backend's artefact, packed convolution weights) is kept while
:func:`content_stamp` of the weights is unchanged.
"""
from typing import Iterable, Optional

import torch

__all__ = ['content_stamp', 'same_stamp']


def content_stamp(tensors: Iterable[torch.Tensor]) -> Optional[torch.Tensor]:
    """The L2 norm of each floating-point tensor of ``tensors`` (one fused call), stacked;
    None for none. Changes when any of their values changes, except by an exchange of values
    within one tensor."""
    floats = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if not floats:
        return None
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(floats))


def same_stamp(a: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> bool:
    """Whether two stamps are of the same values (None only equals None)."""
    if a is None or b is None:
        return a is b
    return (a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
            and bool(torch.equal(a, b)))
