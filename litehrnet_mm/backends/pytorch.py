"""``'pytorch'``: the deploy form in this process's PyTorch (any device, any input size)."""
from typing import Tuple

import torch
from torch import nn

from .base import Backend, Runner, register_backend

__all__ = ['PyTorchBackend']


@register_backend
class PyTorchBackend(Backend):
    """Runs the deploy form eagerly; nothing is built or cached."""
    name = 'pytorch'
    cpu_only = False

    def run(self, part: nn.Module) -> Runner:
        def run_pytorch(x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
            with torch.no_grad():
                out = part(x)
            return out if isinstance(out, tuple) else (out, )
        return run_pytorch
