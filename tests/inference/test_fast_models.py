"""The fast estimator and segmentor (litehrnet_mm.inference) through MMPose's and MMSeg's own
inference APIs, with every backend, against the plain PyTorch model."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import save_checkpoint

from litehrnet_mm.backends import BACKENDS
from litehrnet_mm.builder import build_model
from litehrnet_mm.inference import fast_config, init_fast_model
from litehrnet_mm.mim import derived_config
from litehrnet_mm.testing import randomize


def tolerance(expected: np.ndarray) -> dict:
    """The ONNX tests' tolerances (tests/backends/test_onnx.py)."""
    return dict(rtol=1e-3, atol=1e-4 * float(np.abs(expected).max()))


def near_ties(heatmaps: np.ndarray, delta: float) -> np.ndarray:
    """Per keypoint, whether MMPose's decoding (argmax, then a quarter-pixel step toward the
    larger neighbour) could flip under a change of ``delta``: a second maximum, or a pair of
    neighbours, within ``delta``."""
    k, h, w = heatmaps.shape
    ties = np.zeros(k, bool)
    for i, hm in enumerate(heatmaps):
        flat = np.sort(hm.ravel())
        ties[i] = flat[-1] - flat[-2] < delta
        y, x = np.unravel_index(hm.argmax(), hm.shape)
        if 0 < x < w - 1:
            ties[i] |= abs(hm[y, x + 1] - hm[y, x - 1]) < delta
        if 0 < y < h - 1:
            ties[i] |= abs(hm[y + 1, x] - hm[y - 1, x]) < delta
    return ties


@pytest.mark.parametrize('backend', list(BACKENDS))
def test_pose_backend_gives_the_plain_models_keypoints(backend, trained_pose, pose_data,
                                                       plain_pose, artefact_cache,
                                                       pose_heatmaps_config, package_max_batch):
    """Every person of every image; the compiled backend's package takes 2 at a time (the
    session's package), so images with more persons run in chunks."""
    from mmpose.apis import inference_topdown
    options = {} if backend == 'pytorch' else dict(cache_dir=artefact_cache)
    if backend == 'compiled':
        options['max_batch'] = package_max_batch
    model = init_fast_model(pose_heatmaps_config, trained_pose, backend, **options)
    assert type(model).__name__ == 'FastTopdownPoseEstimator'
    checked = excluded = 0
    for img, boxes in pose_data['boxes'].items():
        results = inference_topdown(model, img, boxes)
        assert len(results) == len(plain_pose[img]) == len(boxes)
        for fast, plain in zip(results, plain_pose[img]):
            hm, hm_ref = (r.pred_fields.heatmaps.numpy() for r in (fast, plain))
            np.testing.assert_allclose(hm, hm_ref, **tolerance(hm_ref))
            assert hm_ref.max() > 0.3  # trained: clear peaks
            ties = near_ties(hm_ref, 2 * float(np.abs(hm - hm_ref).max()) + 1e-7)
            kpts, kpts_ref = fast.pred_instances.keypoints[0], plain.pred_instances.keypoints[0]
            np.testing.assert_allclose(kpts[~ties], kpts_ref[~ties], rtol=0, atol=0.5)
            checked += int((~ties).sum())
            excluded += int(ties.sum())
    print(f'{backend}: {checked} keypoints within 0.5 px, {excluded} near ties excluded')
    assert checked >= 0.9 * (checked + excluded)
    if backend != 'pytorch':
        assert model.backend_runner.log[0]['artefact'].startswith(artefact_cache)


def test_weights_loaded_after_the_first_call_rebuild_the_runner(trained_pose, pose_data,
                                                                pose_heatmaps_config):
    from mmpose.apis import inference_topdown
    model = init_fast_model(pose_heatmaps_config, trained_pose, 'pytorch')
    img, boxes = next(iter(pose_data['boxes'].items()))
    before = inference_topdown(model, img, boxes)[0].pred_fields.heatmaps
    plain = build_model(pose_heatmaps_config, trained_pose)
    randomize(plain, seed=9)
    model.load_state_dict(plain.state_dict())
    after = inference_topdown(model, img, boxes)[0].pred_fields.heatmaps
    expected = inference_topdown(plain, img, boxes)[0].pred_fields.heatmaps
    assert not torch.allclose(before, expected, atol=1e-3)
    np.testing.assert_allclose(after.numpy(), expected.numpy(), **tolerance(expected.numpy()))
    assert len(model.backend_runner.log) == 2


def test_a_part_replaced_or_converted_after_the_first_call_is_seen(
        trained_pose, pose_heatmaps_config):
    """The runner lists the weights it checks once per set of parts: a backbone replaced
    after the first call is listed again (and its weights served); a conversion that
    replaces the buffers (``.float()`` through ``_apply``) lists them again too."""
    model = init_fast_model(pose_heatmaps_config, trained_pose, 'pytorch')
    x = torch.randn(1, 3, 128, 96)
    plain = build_model(pose_heatmaps_config, trained_pose)
    randomize(plain.backbone, seed=11)
    with torch.no_grad():
        first = model(x, None, mode='tensor')
        model.backbone = copy.deepcopy(plain.backbone)  # a new module, its own weights
        replaced = model(x, None, mode='tensor')
        expected = plain.eval()(x, None, mode='tensor')
    assert not torch.allclose(first, expected, atol=1e-3)
    np.testing.assert_allclose(replaced.numpy(), expected.numpy(),
                               **tolerance(expected.numpy()))
    assert len(model.backend_runner.log) == 2
    stale = model.backend_runner._tensors[1]
    model.float()  # buffers are new tensor objects now
    with torch.no_grad():
        model(x, None, mode='tensor')
    assert model.backend_runner._tensors[1] is not stale  # a new Watch
    assert len(model.backend_runner.log) == 2  # same contents: nothing built again


def test_mmpose_inferencer_runs_a_backend(trained_pose, pose_data, artefact_cache, configs):
    from mmpose.apis import MMPoseInferencer, inference_topdown
    config = fast_config(configs.synthetic_pose, 'onnxruntime', cache_dir=artefact_cache)
    inferencer = MMPoseInferencer(pose2d=config, pose2d_weights=trained_pose,
                                  det_model='whole_image', device='cpu')
    fast = inferencer.inferencer.model
    assert type(fast).__name__ == 'FastTopdownPoseEstimator'
    plain = build_model(configs.synthetic_pose, trained_pose)
    for img in list(pose_data['boxes'])[:2]:
        person = next(inferencer(img))['predictions'][0][0]
        expected = inference_topdown(plain, img)[0].pred_instances  # whole image
        np.testing.assert_allclose(person['keypoints'], expected.keypoints[0], rtol=0, atol=0.5)
    assert fast.backend_runner.log and fast.backend_runner.log[0]['artefact'].endswith('.onnx')


def test_a_config_file_selects_the_backend(trained_pose, pose_data, plain_pose, tmp_path,
                                           configs):
    """The route without our Python API: a config that inherits ours and sets the model type
    and backend, built by MMPose's init_model (custom_imports registers the classes)."""
    from mmpose.apis import inference_topdown, init_model
    model_cfg = dict(type='litehrnet_mm.FastTopdownPoseEstimator', backend=dict(type='pytorch'))
    config = derived_config(configs.synthetic_pose, str(tmp_path / 'fast.py'),
                            dict(model=model_cfg))
    model = init_model(config, trained_pose, device='cpu')
    assert type(model).__name__ == 'FastTopdownPoseEstimator'
    img, boxes = next(iter(pose_data['boxes'].items()))
    got = inference_topdown(model, img, boxes)[0].pred_instances.keypoints
    np.testing.assert_allclose(got, plain_pose[img][0].pred_instances.keypoints, atol=0.5)
    bad = derived_config(configs.synthetic_pose, str(tmp_path / 'bad.py'),
                         dict(model=dict(model_cfg, backend=dict(type='tensorrt'))))
    with pytest.raises(ValueError, match='unknown backend .tensorrt.'):
        init_model(bad, device='cpu')


@pytest.mark.parametrize('backend', list(BACKENDS))
def test_seg_backend_gives_the_plain_models_logits(backend, seg_checkpoint, seg_images,
                                                   artefact_cache, tiny_seg_config):
    from mmseg.apis import inference_model
    options = {} if backend == 'pytorch' else dict(cache_dir=artefact_cache)
    model = init_fast_model(tiny_seg_config, seg_checkpoint, backend, **options)
    assert type(model).__name__ == 'FastEncoderDecoder'
    padded = Config.fromfile(tiny_seg_config)  # the plain model, padded as the fast one
    padded.model.data_preprocessor.test_cfg = dict(size_divisor=32)
    plain = build_model(padded, seg_checkpoint)
    for name, img in seg_images.items():
        if backend == 'compiled' and name == 'wide':
            continue  # a second package (one per size) would take another minute
        fast, ref = inference_model(model, img), inference_model(plain, img)
        logits, expected = fast.seg_logits.data.numpy(), ref.seg_logits.data.numpy()
        assert logits.shape[1:] == img.shape[:2]
        padding = fast.metainfo['img_padding_size']  # (left, right, top, bottom)
        assert (sum(padding) > 0) == (name != 'multiple'), (name, padding)
        assert expected.std() > 0.1
        np.testing.assert_allclose(logits, expected, **tolerance(expected))
        agree = (fast.pred_sem_seg.data == ref.pred_sem_seg.data).float().mean()
        assert agree > 0.999, (name, agree)
    if backend != 'pytorch':  # a package per padded size (one here), ONNX: one for all sizes
        assert len(model.backend_runner.log) == 1, model.backend_runner.log


def test_cpu_backend_refuses_another_device(trained_pose, configs):
    model = init_fast_model(configs.synthetic_pose, trained_pose, 'onnxruntime')
    with pytest.raises(RuntimeError, match="backend 'onnxruntime' runs on the CPU, not on meta"):
        model.to('meta')


class _Probe(Hook):
    """An MMEngine hook around the validation: before it (ahead of EMAHook's swap, by its
    priority) one prediction of the first batch by the model's own weights; during it, the
    batches and outputs."""
    priority = 'HIGHEST'

    def __init__(self):
        self.batches, self.before = [], None

    def before_val_epoch(self, runner):
        model = runner.model
        model.eval()
        batch = next(iter(runner.val_dataloader))
        with torch.no_grad():
            self.before = (batch, model.test_step(batch))
        self.builds_before = len(model.backend_runner.log)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.batches.append((data_batch, outputs))


def _plain_heatmaps(cfg, state_dict, data_batch, build_part):
    """The heatmaps of ``cfg``'s plain estimator (MMPose's class) with ``state_dict``."""
    plain_cfg = copy.deepcopy(cfg.model)
    plain_cfg.type = 'TopdownPoseEstimator'
    plain_cfg.pop('backend')
    plain = build_part(plain_cfg, 'mmpose')
    plain.load_state_dict(state_dict)
    plain.eval()
    with torch.no_grad():
        return [r.pred_fields.heatmaps for r in plain.test_step(data_batch)]


@pytest.mark.parametrize('backend', ['pytorch', 'compiled'])
def test_ema_weights_swapped_in_through_data_are_seen(backend, pose_data, tiny_extra, tmp_path,
                                                      configs, tool, build_part):
    """MMEngine's EMAHook validates the averaged weights, swapped in through ``.data`` (which
    bumps no version counter): the backend built for the model's own weights just before is
    built again, and the validation's heatmaps are those of the averaged weights."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(configs.synthetic_pose)
    cfg.merge_from_dict(tool('train_pose_demo').data_settings(pose_data['root']))
    cfg.merge_from_dict({
        'model.type': 'litehrnet_mm.FastTopdownPoseEstimator', 'model.backend': dict(
            type=backend, **({} if backend == 'pytorch' else dict(cache_dir=str(tmp_path)))),
        'model.backbone.arch': None, 'model.backbone.extra': tiny_extra,
        'model.test_cfg.output_heatmaps': True, 'model.test_cfg.flip_test': False,
        'work_dir': str(tmp_path / 'work'), 'train_cfg.max_epochs': 1,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': 64, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False, 'default_hooks.checkpoint.interval': 100,
        'default_hooks.checkpoint.save_best': None, 'experiment_name': f'ema-{backend}',
        'optim_wrapper.optimizer.lr': 0.05})
    cfg.custom_hooks = [dict(type='EMAHook', momentum=0.5)]
    start = str(tmp_path / 'start.pth')  # weights of order one: outputs far from zero
    plain_cfg = copy.deepcopy(cfg.model)
    plain_cfg.type = 'TopdownPoseEstimator'
    plain_cfg.pop('backend')
    save_checkpoint({'state_dict': randomize(build_part(plain_cfg, 'mmpose'), 7).state_dict(),
                     'meta': {}}, start)
    cfg.load_from = start
    probe = _Probe()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(probe)
    runner.train()  # two steps, the average kept by the hook, then a validation
    model = runner.model  # its own weights again (EMAHook swaps back after validating)
    ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook').ema_model.module
    batch, before = probe.before
    own = _plain_heatmaps(cfg, model.state_dict(), batch, build_part)
    averaged = _plain_heatmaps(cfg, ema.state_dict(), batch, build_part)
    apart = np.abs(own[0].numpy() - averaged[0].numpy()).max()
    assert apart > 100 * tolerance(averaged[0].numpy())['atol'], apart  # far apart
    assert len(model.backend_runner.log) == probe.builds_before + 1  # built again for EMA
    val_batch, during = probe.batches[0]
    assert [s.img_path for s in val_batch['data_samples']] == \
        [s.img_path for s in batch['data_samples']]
    for got, own_hm, ema_hm in zip(before, own, averaged):
        np.testing.assert_allclose(got.pred_fields.heatmaps.numpy(), own_hm.numpy(),
                                   **tolerance(own_hm.numpy()))
    for got, ema_hm in zip(during, averaged):
        np.testing.assert_allclose(got.pred_fields.heatmaps.numpy(), ema_hm.numpy(),
                                   **tolerance(ema_hm.numpy()))
