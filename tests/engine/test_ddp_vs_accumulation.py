"""Two-process data-parallel training on CPU (litehrnet_mm.engine.cpu_ddp, gloo) computes what
one process computes when it accumulates the gradients of the same two half-batches.

There is no SyncBN on CPU, so each process's BatchNorm normalises its own half-batch; one
process that runs the two half-batches one after the other (MMEngine's ``accumulative_counts``,
which also halves each loss as DDP averages the two gradients) does the same. Augmentation is
off and the lr constant, so both runs take the same 4 Adam steps (2 epochs of 8 images).
"""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

SCRIPT = osp.join(osp.dirname(osp.abspath(__file__)), 'ddp_steps.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _train(config, mode, data_root, work_dir):
    """Run tests/engine/ddp_steps.py in ``mode``; returns {rank: parameters}."""
    launcher = [sys.executable]
    if mode == 'ddp':
        launcher += ['-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                     str(_free_port())]
    env = dict(os.environ, OMP_NUM_THREADS='1')  # one thread per process in every run
    proc = subprocess.run([*launcher, SCRIPT, config, data_root, work_dir, mode],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    weights = {}
    for rank in (0, 1) if mode == 'ddp' else (0, ):
        state = torch.load(osp.join(work_dir, f'weights_rank{rank}.pth'), weights_only=True)
        # parameters only: BatchNorm's running statistics are not synchronised on CPU (each
        # process keeps those of its own half-batches) and do not enter training forwards
        weights[rank] = {k: v for k, v in state.items() if 'running_' not in k and
                         'num_batches_tracked' not in k}
    return weights, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def runs(tmp_path_factory, configs):
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    tmp = tmp_path_factory.mktemp('ddp')
    data_root = make_coco_keypoints(str(tmp / 'coco'), num_train=8, num_val=1) + '/'
    return {mode: _train(configs.synthetic_pose, mode, data_root, str(tmp / mode))
            for mode in ('ddp', 'accumulate', 'full-batch')}


def _largest_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_both_processes_hold_identical_weights(runs):
    (weights, log) = runs['ddp']
    assert 'Distributed training: True' in log
    assert _largest_difference(weights[0], weights[1]) == 0


def test_ddp_equals_gradient_accumulation_over_the_same_half_batches(runs):
    ddp, accumulated, full = (runs[m][0][0] for m in ('ddp', 'accumulate', 'full-batch'))
    # Tolerance: the two runs compute each half-batch's forward and backward alike (one thread
    # per process) and differ only in how the two gradients are combined: DDP sums them and
    # halves the sum, accumulation halves each loss and sums the gradients. Halving is exact
    # in binary floating point (barring subnormal values, ~1e-38) and a sum of two terms does
    # not depend on their order, so the weights agree to the bit (as seen); 1e-6 only leaves
    # room for such subnormal roundings, which Adam's eps (1e-8) keeps far below it.
    assert _largest_difference(ddp, accumulated) <= 1e-6
    # BatchNorm over the whole batch of 4 (what SyncBN, or one process with the full batch,
    # computes) is another computation: after the same 4 steps, weights differ by ~1e-2.
    assert _largest_difference(ddp, full) > 1e-3
