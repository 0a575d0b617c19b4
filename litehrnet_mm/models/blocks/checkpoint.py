"""Gradient checkpointing that is exact for BatchNorm.

Checkpointing runs a block's forward a second time during backward. A plain
``torch.utils.checkpoint`` would then update every BatchNorm's running statistics twice per
step; here the recomputation runs with those updates switched off, so ``with_cp=True`` gives the
same outputs, gradients and running statistics as ``with_cp=False``.
"""
import contextlib

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def _frozen_running_stats(module: torch.nn.Module):
    norms = [m for m in module.modules()
             if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch statistic
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)


def checkpointed(module: torch.nn.Module, fn, *inputs):
    """Run ``fn(*inputs)`` (a forward of ``module``) under gradient checkpointing."""
    return checkpoint(
        fn,
        *inputs,
        use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(), _frozen_running_stats(module)))


def use_checkpoint(with_cp: bool) -> bool:
    """Checkpoint only when it can save memory: while autograd records.

    Non-reentrant checkpointing also keeps gradients of the parameters inside when no input
    requires grad (the image entering the stem), so inputs need not be checked.
    """
    return with_cp and torch.is_grad_enabled()
