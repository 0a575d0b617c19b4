"""The CPU data-parallel switch: what it replaces, and that it is inert where CUDA exists."""
import importlib

import pytest
import torch
from mmengine.dist import utils as dist_utils
from mmengine.runner import runner as runner_module


@pytest.fixture
def cpu_ddp():
    module = importlib.import_module('litehrnet_mm.engine.cpu_ddp')
    module.enable()
    yield module
    module.disable()


def test_import_installs_both_replacements(cpu_ddp):
    assert dist_utils._init_dist_pytorch is cpu_ddp._init_dist_pytorch
    assert runner_module.MMDistributedDataParallel is \
        cpu_ddp.CPUCompatibleDistributedDataParallel
    cpu_ddp.disable()
    assert dist_utils._init_dist_pytorch is cpu_ddp._original_init_dist_pytorch


def test_inert_when_cuda_is_available(cpu_ddp, monkeypatch):
    calls = []
    monkeypatch.setattr(cpu_ddp, '_original_init_dist_pytorch',
                        lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    dist_utils._init_dist_pytorch('nccl', timeout=5)
    assert calls == [(('nccl', ), dict(init_backend='torch', timeout=5))]


def test_gloo_process_group_on_cpu(cpu_ddp, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA: the CPU path is not taken')
    seen = {}
    monkeypatch.setattr(cpu_ddp.torch_dist, 'init_process_group',
                        lambda **kw: seen.update(kw))
    monkeypatch.setenv('RANK', '1')
    monkeypatch.setenv('WORLD_SIZE', '2')
    dist_utils._init_dist_pytorch('nccl')
    assert seen == dict(backend='gloo', rank=1, world_size=2)
    with pytest.raises(ValueError, match="init_backend='torch'"):
        dist_utils._init_dist_pytorch('gloo', init_backend='deepspeed')
