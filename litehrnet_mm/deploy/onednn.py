"""The private oneDNN operators of the eager deploy form, behind one adapter.

The eager form (:mod:`.layers`) runs its 3x3 and strided convolutions as oneDNN convolutions
with the weights packed once and the activation fused:
``torch.ops.mkldnn._reorder_convolution_weight`` and ``_convolution_pointwise``, the
operators that inductor's freezing emits. They are private to PyTorch: their names and
arguments may change in any release. This file is the only one that calls them; a torch
upgrade that changes them touches it alone.

:func:`available` says, once per process, whether they are usable here: MKLDNN built in, torch
at least :data:`MIN_TORCH`, the operators present, and one small call of each equal to
``F.conv2d``. Where they are not, it warns once (naming the reason and torch's version) and
the deploy form runs its portable implementation (public operators, the same outputs).
"""
import contextlib
import functools
import re
import warnings
from typing import List, Optional

import torch
import torch.nn.functional as F

__all__ = ['MIN_TORCH', 'TESTED_TORCH', 'available', 'unavailable_reason', 'pack_weight', 'conv']

#: the oldest torch whose operators take the arguments used here
MIN_TORCH = (2, 1)
#: the torch this adapter was last checked against (a newer one is checked by a test call)
TESTED_TORCH = (2, 14)


def _torch_version() -> tuple:
    return tuple(int(v) for v in re.findall(r'\d+', torch.__version__)[:2])


def _pair(v: int) -> List[int]:
    return [v, v]


def pack_weight(weight: torch.Tensor, padding: int, stride: int, groups: int,
                input_shape) -> torch.Tensor:
    """``weight`` reordered into oneDNN's layout for inputs of ``input_shape`` (an opaque
    tensor: it neither copies nor pickles)."""
    return torch.ops.mkldnn._reorder_convolution_weight(
        weight.detach(), _pair(padding), _pair(stride), [1, 1], groups, list(input_shape))


def conv(x: torch.Tensor, packed: torch.Tensor, bias: Optional[torch.Tensor], padding: int,
         stride: int, groups: int, act: Optional[str] = None) -> torch.Tensor:
    """``act(conv2d(x) + bias)`` with a weight from :func:`pack_weight`; ``act`` is None,
    ``'relu'`` or ``'sigmoid'``."""
    return torch.ops.mkldnn._convolution_pointwise(
        x, packed, bias, _pair(padding), _pair(stride), [1, 1], groups, act or 'none', [], '')


def _real_tensors():
    """Real tensors even inside a trace (where torch makes fake ones): the check's answer is
    kept for the process, wherever it is first asked."""
    try:
        from torch._subclasses.fake_tensor import unset_fake_temporarily
    except ImportError:  # pragma: no cover (older torch)
        return contextlib.nullcontext()
    return unset_fake_temporarily()


def _check_calls() -> None:
    """One call of each operator on a small channels-last input, against ``F.conv2d``."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 5, 6, generator=g).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(4, 2, 3, 3, generator=g), torch.randn(4, generator=g)
    packed = pack_weight(weight, 1, 2, 2, x.shape)
    expected = F.conv2d(x, weight, bias, 2, 1, 1, 2)
    torch.testing.assert_close(conv(x, packed, bias, 1, 2, 2, 'relu'), expected.relu(),
                               rtol=1e-4, atol=1e-4)


@functools.lru_cache(maxsize=None)
def unavailable_reason() -> Optional[str]:
    """Why the operators cannot be used here, None when they can (checked once)."""
    if not torch.backends.mkldnn.is_available():
        return 'this torch is built without MKLDNN'
    if _torch_version() < MIN_TORCH:
        return f'torch {torch.__version__} is older than {".".join(map(str, MIN_TORCH))}'
    try:
        with _real_tensors(), torch.no_grad():
            _check_calls()
    except Exception as e:  # a renamed operator, new arguments, other results
        return f'torch {torch.__version__}: {type(e).__name__}: {str(e).splitlines()[0]}'
    return None


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Whether the eager deploy form can use oneDNN's private operators here (see the module
    docstring); warns once when it cannot, for a reason other than a build without MKLDNN."""
    reason = unavailable_reason()
    if reason is not None and torch.backends.mkldnn.is_available():
        warnings.warn(f'litehrnet_mm: the eager deploy form cannot use oneDNN\'s private '
                      f'convolution operators ({reason}; checked on torch up to '
                      f'{".".join(map(str, TESTED_TORCH))}); it runs its portable form '
                      f'instead (the same outputs, slower).', RuntimeWarning, stacklevel=2)
    return reason is None
