"""Fixtures shared by the tests: the repository's paths and configs, model builders, the tools,
a tiny MMEngine runner, and the expensive things (synthetic data, a trained pose checkpoint, a
segmentation checkpoint, a cache of built artefacts), each built once per session.

With ``LITEHRNET_MM_CI=1`` (set by ``.ci/run``), a test that skips fails instead: in CI every
test must run (for example the kernel tests, which skip where the kernel cannot be built).
"""
import glob
import importlib.util
import itertools
import json
import os
import os.path as osp
import types

import numpy as np
import pytest
import torch

from litehrnet_mm.mim import run_mim
from litehrnet_mm.testing import randomize

# Tests are CPU-only and small; keep them deterministic and quick on 2 cores. With
# pytest-xdist (tools/test.sh runs one worker per core), each worker and the processes it
# starts take one thread: two workers share the cores instead of fighting over them.
XDIST_WORKER = os.environ.get('PYTEST_XDIST_WORKER')
if XDIST_WORKER:
    os.environ['OMP_NUM_THREADS'] = '1'
    torch.set_num_threads(1)
else:
    torch.set_num_threads(min(2, os.cpu_count() or 1))

# The compiled backend autotunes its packages' matrix products by default (about 2.3x the
# build time); the tests build dozens of packages and check what they compute, not how fast:
# they build without autotuning (here and in the tools they start), except the tests that
# ask for it (tests/backends/test_compiled.py).
os.environ['LITEHRNET_MM_AUTOTUNE'] = '0'

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CI_VARIABLE = 'LITEHRNET_MM_CI'
_POSE = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap')
_SEG = osp.join(ROOT, 'configs', 'segmentation')

#: every config the tests use, by one name each
CONFIGS = types.SimpleNamespace(
    coco=osp.join(_POSE, 'coco', 'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'),
    mpii=osp.join(_POSE, 'mpii', 'td-hm_litehrnet-18_8xb32-210e_mpii-256x256.py'),
    synthetic_pose=osp.join(_POSE, 'synthetic',
                            'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-128x96.py'),
    synthetic_mpii=osp.join(_POSE, 'synthetic',
                            'td-hm_litehrnet-18_1xb16-30e_synthetic-mpii-128x128.py'),
    cityscapes=osp.join(_SEG, 'cityscapes', 'fcn_litehrnet-18_8xb2-160k_cityscapes-512x1024.py'),
    synthetic_seg=osp.join(_SEG, 'synthetic',
                           'fcn_litehrnet-18-nohead_1xb4-400_synthetic-cityscapes-256x512.py'),
    synthetic_seg_small=osp.join(
        _SEG, 'synthetic', 'fcn_litehrnet-18-nohead_1xb1-200img_synthetic-cityscapes-256x512.py'),
    example_mmpose=osp.join(ROOT, 'configs', 'examples',
                            'mmpose-litehrnet-18_custom-imports_coco-256x192.py'),
    example_mmseg=osp.join(ROOT, 'configs', 'examples',
                           'mmseg-fcn-hr18_custom-imports_cityscapes-512x1024.py'),
)
#: the config files of each kind, for the tests that take every one (``pytest_generate_tests``)
CONFIG_FILES = {
    'pose_config_file': sorted(glob.glob(osp.join(ROOT, 'configs', 'body_2d_keypoint', '**',
                                                  '*.py'), recursive=True)),
    'seg_config_file': sorted(glob.glob(osp.join(_SEG, '**', '*.py'), recursive=True)),
}
CONFIG_FILES['published_pose_config_file'] = [
    p for p in CONFIG_FILES['pose_config_file'] if '/synthetic/' not in p]
CONFIG_FILES['cityscapes_config_file'] = [
    p for p in CONFIG_FILES['seg_config_file'] if '/cityscapes/' in p]


def pytest_generate_tests(metafunc):
    """A test that takes ``pose_config_file``, ``published_pose_config_file``,
    ``seg_config_file`` or ``cityscapes_config_file`` runs once per such config."""
    for name, files in CONFIG_FILES.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, files, ids=osp.basename)


#: session fixtures that are expensive to build: every test that uses one (directly or through
#: another fixture) runs on the same xdist worker, so that each is built once
SHARED_FIXTURES = {'trained_pose': 'trained-pose', 'seg_checkpoint': 'seg-artefacts'}


#: groups that take long for few tests (runs through ``mim``, training, compiling), first
#: the longest: they start first, so that the short groups fill the end of the run on both
#: workers (xdist would otherwise order the groups by their number of tests)
LONG_GROUPS = ('trained-pose', 'seg-artefacts', 'tests/configs/test_pose_mim.py',
               'tests/configs/test_mim_wholebody.py', 'tests/configs/test_mim_face.py',
               'tests/configs/test_mim_hand.py', 'tests/configs/test_mim_animal.py',
               'tests/configs/test_mim_custom.py', 'tests/configs/test_seg_mim.py',
               'tests/backends/test_compiled.py', 'tests/tools/test_demo.py')


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """For ``--dist loadgroup``: the tests of one file run on one worker (their module
    fixtures are built once), and so do all the tests of each of :data:`SHARED_FIXTURES`.
    The groups of :data:`LONG_GROUPS` come first, in that order, then the others by their
    number of tests (``tools/test.sh`` passes ``--no-loadscope-reorder`` to keep this
    order)."""
    groups = {}
    for item in items:
        group = next((name for fixture, name in SHARED_FIXTURES.items()
                      if fixture in item.fixturenames), None)
        group = group or item.nodeid.split('::')[0]
        item.add_marker(pytest.mark.xdist_group(group))
        groups.setdefault(group, []).append(item)
    rank = {g: i for i, g in enumerate(LONG_GROUPS)}
    order = sorted(groups, key=lambda g: (rank.get(g, len(rank)), -len(groups[g])))
    items[:] = [item for group in order for item in groups[group]]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``LITEHRNET_MM_CI=1``, a skip is a failure (named as such)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(CI_VARIABLE) == '1' and report.skipped and not hasattr(report, 'wasxfail'):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = 'failed'
        report.longrepr = f'skipped in CI ({CI_VARIABLE}=1), where every test must run: {reason}'


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def repo_root() -> str:
    return ROOT


@pytest.fixture(scope='session')
def configs() -> types.SimpleNamespace:
    """The configs of the repository the tests use (see :data:`CONFIGS`)."""
    return CONFIGS


@pytest.fixture(scope='session')
def mmpose_configs() -> str:
    """The folder of MMPose's own configs (installed with it)."""
    import mmpose
    return osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs')


@pytest.fixture(scope='session')
def mmseg_configs() -> str:
    """The folder of MMSeg's own configs (installed with it)."""
    import mmseg
    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tool():
    """``tool(name)``: the script ``tools/NAME.py`` imported as a module (the tools are
    scripts, not a package)."""
    return _load_tool


@pytest.fixture(scope='session')
def mim():
    """``mim(*args, check=True, timeout=900)``: ``mim`` of this environment from the repository
    root (raises with its output)."""
    def run(*args, check=True, timeout=900):
        return run_mim(args, timeout=timeout, check=check, cwd=ROOT)
    return run


# models


@pytest.fixture(scope='session')
def build():
    """``build(config, checkpoint=None, seed=None)``: :func:`litehrnet_mm.builder.build_model`,
    with randomized weights when ``seed`` is given."""
    from litehrnet_mm.builder import build_model

    def make(config, checkpoint=None, seed=None):
        model = build_model(config, checkpoint)
        return randomize(model, seed) if seed is not None else model
    return make


@pytest.fixture(scope='session')
def build_part():
    """``build_part(model_dict, task)``: :func:`litehrnet_mm.builder.build_model_part` (a model
    dict built in the scope of ``'mmpose'`` or ``'mmseg'``)."""
    from litehrnet_mm.builder import build_model_part
    return build_model_part


_RUNNER_IDS = itertools.count()


@pytest.fixture(scope='session')
def toy_runner():
    """``toy_runner(work_dir, max_iters, **runner_kwargs)``: a tiny MMEngine runner around our
    backbone (loss: the mean square of its output), saving every 2 iterations; the metainfo
    holds NumPy values that end up in the checkpoint, as MMPose's dataset_meta does."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import Dataset

    from litehrnet_mm.models import LiteHRNet

    class ToyData(Dataset):
        metainfo = dict(sigmas=np.array([0.1, 0.2], dtype=np.float32),
                        num_keypoints=np.int64(2))

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

    def make(work_dir, max_iters, **kwargs):
        kwargs.setdefault('experiment_name', f'toy{next(_RUNNER_IDS)}')  # a message hub each
        return Runner(
            model=ToyModel(), work_dir=str(work_dir),
            train_dataloader=dict(dataset=ToyData(), batch_size=2, num_workers=0,
                                  sampler=dict(type='DefaultSampler', shuffle=False),
                                  collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
            train_cfg=dict(by_epoch=False, max_iters=max_iters),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                               interval=2),
                               logger=dict(type='LoggerHook', interval=1)),
            default_scope='mmengine', **kwargs)
    return make


# expensive things, built once per session

#: validation images of the session's synthetic COCO set
NUM_VAL = 4


@pytest.fixture(scope='session')
def pose_data(tmp_path_factory):
    """A synthetic COCO-keypoints set (128 train, :data:`NUM_VAL` val images): its root, the
    val annotation file and the val persons' boxes (x1, y1, x2, y2) by image path."""
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    root = str(tmp_path_factory.mktemp('pose') / 'coco')
    make_coco_keypoints(root, num_train=128, num_val=NUM_VAL, seed=0)
    ann = osp.join(root, 'annotations', 'person_keypoints_val.json')
    coco = json.load(open(ann))
    images = {im['id']: osp.join(root, 'val', im['file_name']) for im in coco['images']}
    boxes = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        boxes.setdefault(images[a['image_id']], []).append([x, y, x + w, y + h])
    return dict(root=root, ann_file=ann, num_val=NUM_VAL,
                boxes={k: np.array(v) for k, v in boxes.items()})


@pytest.fixture(scope='session')
def trained_pose(pose_data, tmp_path_factory):
    """Lite-HRNet-18 (the synthetic 128x96 config) trained for 96 iterations on the synthetic
    figures with MMEngine's runner: its heatmaps have clear peaks (the main job reaches AP
    0.87 after 130). The path of its checkpoint."""
    from mmengine.config import Config
    from mmengine.runner import Runner, save_checkpoint
    work_dir = str(tmp_path_factory.mktemp('train'))
    cfg = Config.fromfile(CONFIGS.synthetic_pose)
    cfg.merge_from_dict(_load_tool('train_pose_demo').data_settings(pose_data['root']))
    cfg.merge_from_dict({
        'work_dir': work_dir, 'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 1000,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint.save_best': None, 'default_hooks.checkpoint.interval': 1000,
        'default_hooks.logger.interval': 50, 'experiment_name': 'trained_pose'})
    runner = Runner.from_cfg(cfg)
    runner.train()
    path = osp.join(work_dir, 'trained.pth')
    save_checkpoint({'state_dict': runner.model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='session')
def tiny_seg_config(tiny_extra, tmp_path_factory) -> str:
    """The synthetic segmentation config with the backbone of ``tiny_extra`` (a config file
    that inherits it): the backends' segmentation tests build an artefact per backend, and
    their time grows with the graph."""
    from litehrnet_mm.mim import derived_config
    path = str(tmp_path_factory.mktemp('configs') / 'tiny_seg.py')
    return derived_config(CONFIGS.synthetic_seg, path,
                          dict(model=dict(backbone=dict(arch=None, extra=tiny_extra))))


@pytest.fixture(scope='session')
def tiny_pose_config(tiny_extra, tmp_path_factory) -> str:
    """The synthetic pose config with the backbone of ``tiny_extra`` (a config file that
    inherits it), for the tests of the artefact cache: each builds artefacts of its own."""
    from litehrnet_mm.mim import derived_config
    path = str(tmp_path_factory.mktemp('configs') / 'tiny_pose.py')
    return derived_config(CONFIGS.synthetic_pose, path,
                          dict(model=dict(backbone=dict(arch=None, extra=tiny_extra))))


@pytest.fixture(scope='session')
def seg_checkpoint(tiny_seg_config, tmp_path_factory):
    """The model of ``tiny_seg_config`` with randomized weights, saved."""
    from mmengine.runner import save_checkpoint

    from litehrnet_mm.builder import build_model
    path = str(tmp_path_factory.mktemp('seg') / 'seg.pth')
    model = randomize(build_model(tiny_seg_config), seed=2)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='session')
def artefact_cache(tmp_path_factory) -> str:
    """One artefact cache for the session: an artefact built by one test (a package takes
    about a minute) serves the others that need the same one."""
    return str(tmp_path_factory.mktemp('artefacts'))


@pytest.fixture(scope='session')
def pose_heatmaps_config():
    """The synthetic pose config with the heatmaps kept in the results (to compare them)."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIGS.synthetic_pose)
    cfg.model.test_cfg.output_heatmaps = True
    return cfg


@pytest.fixture(scope='session')
def plain_pose(trained_pose, pose_data, pose_heatmaps_config):
    """MMPose's ``inference_topdown`` results of the plain trained model, per val image (the
    persons of its boxes), with heatmaps."""
    from mmpose.apis import inference_topdown

    from litehrnet_mm.builder import build_model
    model = build_model(pose_heatmaps_config, trained_pose)
    return {img: inference_topdown(model, img, boxes)
            for img, boxes in pose_data['boxes'].items()}


@pytest.fixture(scope='session')
def seg_images():
    """Synthetic street scenes: one of the model's size, and two that the test pipeline
    resizes to sizes that are not multiples of 32 (padded, then cropped back)."""
    from litehrnet_mm.datasets.synthetic.cityscapes import render_scene
    rng = np.random.default_rng(0)
    img = render_scene(rng, 256, 512)[0]
    # the test pipeline resizes to fit 512x256: 240x500 to 246x512, padded to 256x512 and
    # cropped back; 110x400 to 141x512, padded to 160x512 (a second size)
    return dict(multiple=img, other=render_scene(rng, 256, 512)[0][:240, :500],
                wide=render_scene(rng, 256, 512)[0][:110, :400])


@pytest.fixture(scope='session')
def tiny_extra():
    """Lite-HRNet-18 with one module of one block per stage: every kind of block (stem,
    transitions, conditional channel weighting, fuse layers, IterativeHead) in a quarter of
    the network, for the tests whose cost grows with the graph (torch.compile)."""
    from litehrnet_mm.models import arch_to_extra
    extra = arch_to_extra('18')
    extra['stages_spec'].update(num_modules=(1, 1, 1), num_blocks=(1, 1, 1))
    return extra


@pytest.fixture(scope='session')
def pose_artefact(trained_pose, pose_data, artefact_cache):
    """``pose_artefact(backend, **options) -> (model, path)``: the trained synthetic pose model
    in its fast form with ``backend``, after one call of MMPose's ``inference_topdown``, and
    the artefact that call built into the session's cache (the first time) or loaded. A
    package (about a minute to build) is built once for every test that needs it."""
    from mmpose.apis import inference_topdown

    from litehrnet_mm.inference import init_fast_model
    img, boxes = next(iter(pose_data['boxes'].items()))

    def get(backend, config=CONFIGS.synthetic_pose, **options):
        model = init_fast_model(config, trained_pose, backend, cache_dir=artefact_cache,
                                **options)
        inference_topdown(model, img, boxes)
        return model, model.backend_runner.log[-1]['artefact']
    return get


@pytest.fixture(scope='session')
def package_max_batch() -> int:
    """The largest batch of the session's pose package: 2, so that an image with more
    persons runs in chunks."""
    return 2


@pytest.fixture(scope='session')
def pose_package(pose_artefact, package_max_batch):
    """The path of the AOTInductor package of the trained pose model's features, for batches
    of 1 to ``package_max_batch`` (built once per session)."""
    return pose_artefact('compiled', max_batch=package_max_batch)[1]


@pytest.fixture(scope='session')
def exported_pose(trained_pose, tmp_path_factory):
    """The whole trained synthetic pose model (heatmaps) exported by ``tools/export_onnx.py``
    at its 128x96 input size (fixed size, free batch)."""
    path = str(tmp_path_factory.mktemp('export') / 'pose.onnx')
    _load_tool('export_onnx').main([CONFIGS.synthetic_pose, '--checkpoint', trained_pose,
                                    '--out', path])
    return path
