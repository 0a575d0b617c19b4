"""Resuming gives what an uninterrupted run gives: the same weights, optimizer and scheduler
state (MMEngine's Runner on the synthetic pose and segmentation configs, in this process).

With ``persistent_workers=False`` the data loader workers are started, and seeded from the
config's seed, again every epoch, so a run resumed at an epoch boundary sees the same
augmentations as an uninterrupted one; nothing else in these models draws random numbers. The
shipped configs keep their workers alive across epochs (the augmentations then continue one
random stream, which a resumed run restarts), so for them the test checks that resuming restores
model, optimizer, schedulers and counters exactly.
"""
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

_IDS = itertools.count()


def _runner(config, work_dir, data_root, changes, resume_from=None):
    """A runner of ``config`` (its own seed) on ``data_root``: training only, small batches,
    a checkpoint every epoch or every 2 iterations, the given ``changes`` merged in."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data_root,
                         'train_dataloader.batch_size': 2, **changes})
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    by_epoch = cfg.train_cfg.get('by_epoch', 'max_epochs' in cfg.train_cfg)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=by_epoch,
                                        interval=1 if by_epoch else 2, max_keep_ckpts=-1)
    cfg.update(work_dir=str(work_dir), experiment_name=f'resume{next(_IDS)}',
               resume=resume_from is not None, load_from=resume_from)
    return Runner.from_cfg(cfg)


def _assert_same(a, b, where='checkpoint'):
    """Exact equality of nested checkpoint contents (tensors bit for bit)."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def _load(path):
    return torch.load(path, weights_only=True)


def _check_resume_equals_uninterrupted(config, data_root, tmp_path, changes, first, last,
                                       final):
    """Train to the ``first`` checkpoint, resume from it with the ``last`` changes (the end)
    up to the ``final`` checkpoint, and train the whole way in one go; the final checkpoints
    must agree exactly."""
    _runner(config, tmp_path / 'first', data_root, changes).train()
    _runner(config, tmp_path / 'resumed', data_root, dict(changes, **last),
            resume_from=str(tmp_path / 'first' / first)).train()
    _runner(config, tmp_path / 'whole', data_root, dict(changes, **last)).train()
    a, b = _load(tmp_path / 'resumed' / final), _load(tmp_path / 'whole' / final)
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        _assert_same(a[key], b[key], key)
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter'])
    # and the resumed part did train: the weights moved after the first checkpoint
    start = _load(tmp_path / 'first' / first)['state_dict']
    assert any(not torch.equal(start[k], a['state_dict'][k]) for k in start)
    return a


@pytest.fixture(scope='module')
def pose_root(tmp_path_factory):
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    return make_coco_keypoints(str(tmp_path_factory.mktemp('coco')), 8, 1) + '/'


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    from litehrnet_mm.datasets.synthetic.cityscapes import make_cityscapes
    return make_cityscapes(str(tmp_path_factory.mktemp('cs')), 4, 1, height=128,
                           width=256) + '/'


REFRESHED_WORKERS = {'train_dataloader.num_workers': 1,
                     'train_dataloader.persistent_workers': False}


@pytest.fixture(scope='module')
def tiny(tiny_extra):
    """The configs' backbone cut to one module of one block per stage: what is resumed is
    MMEngine's state, whatever the network's depth (and a quarter of it trains faster)."""
    return {'model.backbone.arch': None, 'model.backbone.extra': tiny_extra}


def test_pose_resume_equals_uninterrupted_run(pose_root, tmp_path, configs, tiny):
    """2 + 2 epochs against 4 (4 iterations each); the lr steps down at epoch 3, after the
    resume, and the warm-up runs across it."""
    changes = dict(REFRESHED_WORKERS, **tiny, **{'train_cfg.max_epochs': 2,
                                                 'param_scheduler.1.milestones': [3],
                                                 'param_scheduler.0.end': 12})
    final = _check_resume_equals_uninterrupted(configs.synthetic_pose, pose_root, tmp_path,
                                               changes,
                                               'epoch_2.pth', {'train_cfg.max_epochs': 4},
                                               'epoch_4.pth')
    assert final['meta']['epoch'] == 4 and final['meta']['iter'] == 16


def test_seg_resume_equals_uninterrupted_run(seg_root, tmp_path, configs, tiny):
    """2 + 2 iterations against 4 (MMEngine skips the data of the first 2 on resume)."""
    changes = dict(REFRESHED_WORKERS, **tiny,
                   **{'train_cfg.max_iters': 2, 'param_scheduler.0.end': 4})
    final = _check_resume_equals_uninterrupted(configs.synthetic_seg, seg_root, tmp_path,
                                               changes, 'iter_2.pth',
                                               {'train_cfg.max_iters': 4}, 'iter_4.pth')
    assert final['meta']['iter'] == 4


@pytest.mark.parametrize('task,stop', [('pose', {'train_cfg.max_epochs': 1}),
                                       ('seg', {'train_cfg.max_iters': 2})],
                         ids=['pose', 'seg'])
def test_shipped_configs_restore_everything_on_resume(task, stop, pose_root, seg_root,
                                                      tmp_path, configs, tiny):
    """With the shipped data loader settings (persistent workers): after resuming, the model,
    optimizer, schedulers and counters are exactly the checkpoint's."""
    config = configs.synthetic_pose if task == 'pose' else configs.synthetic_seg
    data_root = pose_root if task == 'pose' else seg_root
    stop = dict(stop, **tiny)
    _runner(config, tmp_path / 'first', data_root, stop).train()
    name = 'epoch_1.pth' if task == 'pose' else 'iter_2.pth'
    saved = _load(tmp_path / 'first' / name)
    runner = _runner(config, tmp_path / 'resumed', data_root, stop,
                     resume_from=str(tmp_path / 'first' / name))
    assert runner.cfg.train_dataloader.persistent_workers  # as shipped
    runner.train()  # resumes, then stops: nothing is left to train
    _assert_same(runner.model.state_dict(), saved['state_dict'], 'model')
    _assert_same(runner.optim_wrapper.state_dict(), saved['optimizer'], 'optimizer')
    _assert_same([s.state_dict() for s in runner.param_schedulers], saved['param_schedulers'],
                 'schedulers')
    assert (runner.epoch, runner.iter) == (saved['meta']['epoch'], saved['meta']['iter'])
    assert runner.iter > 0


def test_deploy_in_a_training_config_stops_before_the_first_iteration(pose_root, tmp_path,
                                                                      configs):
    runner = _runner(configs.synthetic_pose, tmp_path, pose_root,
                     {'model.backbone.deploy': True, 'train_cfg.max_epochs': 1})
    with pytest.raises(ValueError, match=r'deploy=True\) is an inference setting'):
        runner.train()
    assert runner.iter == 0 and not osp.exists(tmp_path / 'epoch_1.pth')
