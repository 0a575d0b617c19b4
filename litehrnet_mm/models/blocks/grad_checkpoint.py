"""Gradient checkpointing (``with_cp``) that is exact for BatchNorm.

Checkpointing runs a block's forward a second time during backward. A plain
``torch.utils.checkpoint`` would then update every BatchNorm's running statistics twice per
step; here the recomputation runs with those updates switched off, so ``with_cp=True`` gives the
same outputs, gradients and running statistics as ``with_cp=False``.
"""
import contextlib
from typing import Callable

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


def run_maybe_checkpointed(module: torch.nn.Module, with_cp: bool, fn: Callable, *inputs):
    """``fn(*inputs)`` (the forward of ``module``), under gradient checkpointing when
    ``with_cp`` is set and autograd records (otherwise there is no memory to save).

    Non-reentrant checkpointing keeps the gradients of the parameters inside even when no
    input requires grad (the image entering the stem), so inputs need not be checked.
    """
    if not (with_cp and torch.is_grad_enabled()):
        return fn(*inputs)
    return checkpoint(
        fn,
        *inputs,
        use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(), _frozen_running_stats(module)))
