"""Data-parallel training with MMEngine's ``pytorch`` launcher on machines without CUDA.

MMEngine 0.10.7 assumes GPUs there: ``_init_dist_pytorch`` always calls
``torch.cuda.set_device`` ("Found no NVIDIA driver") and ``Runner.wrap_model`` gives
DistributedDataParallel ``device_ids=[local_rank]``, which a CPU module rejects. MMPose's and
MMSeg's ``tools/train.py`` build MMEngine's own Runner, so the fix cannot live in a Runner
subclass; it is switched on by importing this module from the config::

    custom_imports = dict(imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'],
                          allow_failed_imports=False)

Then ``mim train mmpose CFG --launcher pytorch --gpus 2`` (or ``torchrun --nproc_per_node 2
tools/train.py CFG --launcher pytorch``) trains with the gloo backend on CPU. Where CUDA is
available both replacements call MMEngine's originals unchanged.
"""
import logging
import os

import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import runner as runner_module

_original_init_dist_pytorch = dist_utils._init_dist_pytorch


def _init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
    if torch.cuda.is_available():
        return _original_init_dist_pytorch(backend, init_backend=init_backend, **kwargs)
    if init_backend != 'torch':
        raise ValueError(f'litehrnet_mm.engine.cpu_ddp: without CUDA only '
                         f"init_backend='torch' is supported, got {init_backend!r}")
    if backend != 'gloo':
        print_log(f"litehrnet_mm.engine.cpu_ddp: no CUDA, so the {backend!r} backend of "
                  f"env_cfg.dist_cfg is replaced by 'gloo'", logger='current',
                  level=logging.WARNING)
    torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)


class CPUCompatibleDistributedDataParallel(MMDistributedDataParallel):
    """MMDistributedDataParallel that drops ``device_ids`` for a module on the CPU."""

    def __init__(self, module, device_ids=None, **kwargs):
        if not torch.cuda.is_available():
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


def enable() -> None:
    """Install both replacements (importing this module does it; calling again is harmless)."""
    dist_utils._init_dist_pytorch = _init_dist_pytorch
    runner_module.MMDistributedDataParallel = CPUCompatibleDistributedDataParallel


def disable() -> None:
    """Restore MMEngine's originals."""
    dist_utils._init_dist_pytorch = _original_init_dist_pytorch
    runner_module.MMDistributedDataParallel = MMDistributedDataParallel


enable()
