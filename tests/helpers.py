"""Shared helpers for the tests: weight randomisation and closeness, a tiny MMEngine runner."""
import itertools

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import Dataset

from litehrnet_mm.apis import mmpose_and_ours
from litehrnet_mm.models import ARCH_SETTINGS, LiteHRNet, arch_to_extra

ARCHS = sorted(ARCH_SETTINGS)


def mmpose_litehrnet(arch: str, with_head: bool):
    """MMPose's own LiteHRNet for a named variant (the reference implementation)."""
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet
    return MMPoseLiteHRNet(arch_to_extra(arch, with_head=with_head))


def randomized_pair(arch: str, with_head: bool = True, seed: int = 0, **kwargs):
    """MMPose's LiteHRNet with non-trivial weights, and ours with the same weights."""
    ref, ours = mmpose_and_ours(arch, with_head, **kwargs)
    randomize(ref, seed)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and BN buffer non-trivial values.

    The default init (conv std 0.001) makes outputs so small that a wrong model could still
    pass a tolerance check; these values keep activations of order one through the network.
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


def assert_close(actual, expected, rel=1e-4):
    """Element-wise closeness relative to the scale of the expected tensor."""
    scale = expected.abs().max().item() + 1e-12
    torch.testing.assert_close(actual, expected, rtol=rel, atol=rel * scale)


def unscoped(x):
    """A config value without the `_scope_` keys MMEngine adds to dicts inherited through
    `mmpose::` / `mmseg::` bases."""
    if isinstance(x, dict):
        return {k: unscoped(v) for k, v in x.items() if k != '_scope_'}
    if isinstance(x, (list, tuple)):
        return type(x)(unscoped(v) for v in x)
    return x


_RUNNER_IDS = itertools.count()


class ToyData(Dataset):
    """Four random images; NumPy values in the metainfo end up in the checkpoint, as MMPose's
    dataset_meta does."""
    # NumPy values in the metainfo end up in the checkpoint, as MMPose's dataset_meta does.
    metainfo = dict(sigmas=np.array([0.1, 0.2], dtype=np.float32), num_keypoints=np.int64(2))

    def __len__(self):
        return 4

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, 64, 64, generator=g))


class ToyModel(BaseModel):
    """Our backbone as an MMEngine model whose loss is the mean square of its output."""

    def __init__(self):
        super().__init__()
        self.backbone = LiteHRNet(arch='18')

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.backbone(torch.stack(inputs) if isinstance(inputs, list) else inputs)[0]
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def toy_runner(work_dir, max_iters, **kwargs):
    """A tiny MMEngine runner around our backbone, saving every 2 iterations."""
    kwargs.setdefault('experiment_name', f'toy{next(_RUNNER_IDS)}')  # one message hub each
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=ToyData(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
                           logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine',
        **kwargs)
