"""Train the synthetic pose config for a few steps without augmentation and save this process's
weights; run by tests/engine/test_ddp_vs_accumulation.py, under ``torch.distributed.run`` for
the data-parallel run.

    python ddp_steps.py CONFIG DATA_ROOT WORK_DIR {ddp,accumulate,full-batch}

``ddp``: 2 processes x 2 images per step (rank r takes images r, r+2, ...).
``accumulate``: 1 process, the same two half-batches one after the other, gradients
accumulated over both (BatchNorm sees each half-batch on its own, as in ``ddp``).
``full-batch``: 1 process, both half-batches as one batch of 4 (BatchNorm sees 4 images).
"""
import os
import sys

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner


def main(config: str, data_root: str, work_dir: str, mode: str) -> None:
    cfg = Config.fromfile(config)
    codec = cfg.codec
    cfg.train_dataloader.dataset.update(data_root=data_root, pipeline=[
        dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')])
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False,
                                sampler=dict(type='DefaultSampler', shuffle=False))
    if mode != 'ddp':  # the order in which the two processes take the images, in pairs
        cfg.train_dataloader.dataset.indices = [0, 2, 1, 3, 4, 6, 5, 7]
    if mode == 'accumulate':
        cfg.optim_wrapper.accumulative_counts = 2
    if mode == 'full-batch':
        cfg.train_dataloader.batch_size = 4
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator', 'param_scheduler'):  # constant lr: steps are counted alike
        cfg[key] = None
    cfg.train_cfg.max_epochs = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.update(work_dir=work_dir, launcher='pytorch' if mode == 'ddp' else 'none')
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    torch.save(model.state_dict(),
               os.path.join(work_dir, f'weights_rank{os.environ.get("RANK", 0)}.pth'))


if __name__ == '__main__':
    main(*sys.argv[1:])
