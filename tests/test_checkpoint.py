"""Checkpoints saved by MMEngine's runner load under torch's weights_only default."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import litehrnet_mm  # noqa: F401  (allow-lists MMEngine's checkpoint classes)
from litehrnet_mm.models import LiteHRNet


class ToyData(Dataset):
    # NumPy values in the metainfo end up in the checkpoint, as MMPose's dataset_meta does.
    metainfo = dict(sigmas=np.array([0.1, 0.2], dtype=np.float32), num_keypoints=np.int64(2))

    def __len__(self):
        return 4

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, 64, 64, generator=g))


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.backbone = LiteHRNet(arch='18')

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.backbone(torch.stack(inputs) if isinstance(inputs, list) else inputs)[0]
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, max_iters, **kwargs):
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


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('toy')
    _runner(work_dir, 2).train()
    return work_dir, work_dir / 'iter_2.pth'


def test_runner_checkpoint_loads_with_weights_only(saved):
    _, path = saved
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['iter'] == 2
    assert 'message_hub' in ckpt
    assert isinstance(ckpt['meta']['dataset_meta']['sigmas'], np.ndarray)


def test_fresh_process_loads_it_after_importing_the_package(saved):
    """As `mim test` does: a new process, our package imported by custom_imports."""
    _, path = saved
    code = (f'import litehrnet_mm, torch; c = torch.load({str(path)!r}, weights_only=True); '
            "print(c['meta']['iter'])")
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith('2')


def test_without_the_allow_list_it_is_refused(saved):
    """Shows the allow-list is what makes the load work (torch's default refuses it)."""
    _, path = saved
    code = f'import torch; torch.load({str(path)!r}, weights_only=True)'
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'weights_only' in proc.stderr or 'Unsupported global' in proc.stderr


def test_arbitrary_globals_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': subprocess.Popen}, path)
    with pytest.raises(Exception, match='(Unsupported global|weights_only)'):
        torch.load(path, weights_only=True)


class StartIter(Hook):

    def before_train(self, runner):
        self.start = runner.iter


class Evil:

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def test_getattr_is_allowed_only_for_history_buffer(tmp_path):
    path = tmp_path / 'evil_getattr.pth'
    torch.save({'x': Evil()}, path)
    with pytest.raises(Exception, match='refused getattr'):
        torch.load(path, weights_only=True)


def test_runner_resumes_from_its_checkpoint(saved, tmp_path):
    work_dir, path = saved
    start = StartIter()
    runner = _runner(tmp_path, 4, resume=True, load_from=str(path), custom_hooks=[start])
    runner.train()
    assert start.start == 2  # continued from the checkpoint, not from scratch
    assert runner.iter == 4
    resumed = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert resumed['meta']['iter'] == 4
