"""The fast estimator and segmentor (litehrnet_mm.inference) through MMPose's and MMSeg's own
inference APIs, with every backend, against the plain PyTorch model; the artefact cache and
the refusals."""
import copy
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from litehrnet_mm.apis import build_model, derived_config
from litehrnet_mm.inference import fast_config, init_fast_model, make_record
from litehrnet_mm.inference.artefacts import cache_path
from tests.helpers import randomize
from tests.tools_loader import ROOT, load_tool

POSE_CFG = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'synthetic',
                    'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-128x96.py')
COCO_CFG = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                    'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')
SEG_CFG = osp.join(ROOT, 'configs', 'segmentation', 'synthetic',
                   'fcn_litehrnet-18-nohead_1xb4-400_synthetic-cityscapes-256x512.py')
BACKENDS = ['pytorch', 'compiled', 'onnxruntime', 'openvino']
NUM_VAL = 4


def tolerance(expected: np.ndarray) -> dict:
    """The ONNX tests' tolerances (tests/test_export.py)."""
    return dict(rtol=1e-3, atol=1e-4 * float(np.abs(expected).max()))


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp('artefacts'))


@pytest.fixture(scope='module')
def pose_data(tmp_path_factory):
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
    return dict(root=root, ann_file=ann, boxes={k: np.array(v) for k, v in boxes.items()})


@pytest.fixture(scope='module')
def trained_pose(pose_data, tmp_path_factory):
    """Lite-HRNet-18 trained for 96 iterations on the synthetic figures with MMEngine's runner:
    its heatmaps have clear peaks (the main job reaches AP 0.87 after 130)."""
    from mmengine.runner import Runner
    work_dir = str(tmp_path_factory.mktemp('train'))
    cfg = Config.fromfile(POSE_CFG)
    cfg.merge_from_dict(load_tool('train_pose_demo').data_settings(pose_data['root']))
    cfg.merge_from_dict({
        'work_dir': work_dir, 'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 1000,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint.save_best': None, 'default_hooks.checkpoint.interval': 1000,
        'default_hooks.logger.interval': 50})
    runner = Runner.from_cfg(cfg)
    runner.train()
    path = osp.join(work_dir, 'trained.pth')
    save_checkpoint({'state_dict': runner.model.state_dict(), 'meta': {}}, path)
    return path


def with_heatmaps(config: str) -> Config:
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.output_heatmaps = True
    return cfg


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


@pytest.fixture(scope='module')
def plain_pose(trained_pose, pose_data):
    from mmpose.apis import inference_topdown
    model = build_model(with_heatmaps(POSE_CFG), trained_pose)
    return {img: inference_topdown(model, img, boxes)
            for img, boxes in pose_data['boxes'].items()}


@pytest.mark.parametrize('backend', BACKENDS)
def test_pose_backend_gives_the_plain_models_keypoints(backend, trained_pose, pose_data,
                                                       plain_pose, cache):
    from mmpose.apis import inference_topdown
    options = {} if backend == 'pytorch' else dict(cache_dir=cache)
    model = init_fast_model(with_heatmaps(POSE_CFG), trained_pose, backend, **options)
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
        assert model.runtime.log[0]['artefact'].startswith(cache)


def pose_artefact(trained_pose, pose_data, cache, backend, config=POSE_CFG):
    """The model of ``backend`` after one call, and the artefact that call built (first
    time) or loaded (from the tests above, which build the same ones)."""
    from mmpose.apis import inference_topdown
    model = init_fast_model(config, trained_pose, backend, cache_dir=cache)
    img, boxes = next(iter(pose_data['boxes'].items()))
    inference_topdown(model, img, boxes)
    return model, model.runtime.log[-1]['artefact']


def test_compiled_artefact_is_cached_and_keyed_by_the_weights(trained_pose, pose_data, cache):
    from mmpose.apis import inference_topdown
    pose_artefact(trained_pose, pose_data, cache, 'compiled')  # built here or before
    model = init_fast_model(POSE_CFG, trained_pose, 'compiled', cache_dir=cache)
    img, boxes = next(iter(pose_data['boxes'].items()))
    inference_topdown(model, img, boxes)
    (entry, ) = model.runtime.log
    assert entry['built'] is False and entry['seconds'] < 10, entry
    # other weights, or another input size, key another artefact
    record = make_record(model, 'features', 'compiled', 128, 96, max_batch=1)
    assert cache_path(record, cache) == entry['artefact']
    other = copy.deepcopy(model)
    randomize(other, seed=5)
    for changed in (make_record(other, 'features', 'compiled', 128, 96, max_batch=1),
                    make_record(model, 'features', 'compiled', 256, 192, max_batch=1)):
        assert cache_path(changed, cache) != entry['artefact']


def test_weights_loaded_after_the_first_call_rebuild_the_runtime(trained_pose, pose_data):
    from mmpose.apis import inference_topdown
    model = init_fast_model(with_heatmaps(POSE_CFG), trained_pose, 'pytorch')
    img, boxes = next(iter(pose_data['boxes'].items()))
    before = inference_topdown(model, img, boxes)[0].pred_fields.heatmaps
    plain = build_model(with_heatmaps(POSE_CFG), trained_pose)
    randomize(plain, seed=9)
    model.load_state_dict(plain.state_dict())
    after = inference_topdown(model, img, boxes)[0].pred_fields.heatmaps
    expected = inference_topdown(plain, img, boxes)[0].pred_fields.heatmaps
    assert not torch.allclose(before, expected, atol=1e-3)
    np.testing.assert_allclose(after.numpy(), expected.numpy(), **tolerance(expected.numpy()))
    assert len(model.runtime.log) == 2


def test_mmpose_inferencer_runs_a_backend(trained_pose, pose_data, plain_pose, cache):
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(pose2d=fast_config(POSE_CFG, 'onnxruntime', cache_dir=cache),
                                  pose2d_weights=trained_pose, det_model='whole_image',
                                  device='cpu')
    from mmpose.apis import inference_topdown
    fast = inferencer.inferencer.model
    assert type(fast).__name__ == 'FastTopdownPoseEstimator'
    plain = build_model(POSE_CFG, trained_pose)
    for img in list(pose_data['boxes'])[:2]:
        person = next(inferencer(img))['predictions'][0][0]
        expected = inference_topdown(plain, img)[0].pred_instances  # whole image
        np.testing.assert_allclose(person['keypoints'], expected.keypoints[0], rtol=0, atol=0.5)
    assert fast.runtime.log and fast.runtime.log[0]['artefact'].endswith('.onnx')


def test_a_config_file_selects_the_backend(trained_pose, pose_data, plain_pose, tmp_path):
    """The route without our Python API: a config that inherits ours and sets the model type
    and backend, built by MMPose's init_model (custom_imports registers the classes)."""
    from mmpose.apis import inference_topdown, init_model
    model_cfg = dict(type='litehrnet_mm.FastTopdownPoseEstimator', backend=dict(type='pytorch'))
    config = derived_config(POSE_CFG, str(tmp_path / 'fast.py'), dict(model=model_cfg))
    model = init_model(config, trained_pose, device='cpu')
    assert type(model).__name__ == 'FastTopdownPoseEstimator'
    img, boxes = next(iter(pose_data['boxes'].items()))
    got = inference_topdown(model, img, boxes)[0].pred_instances.keypoints
    np.testing.assert_allclose(got, plain_pose[img][0].pred_instances.keypoints, atol=0.5)
    bad = derived_config(POSE_CFG, str(tmp_path / 'bad.py'),
                         dict(model=dict(model_cfg, backend=dict(type='tensorrt'))))
    with pytest.raises(ValueError, match='unknown backend .tensorrt.'):
        init_model(bad, device='cpu')


@pytest.fixture(scope='module')
def seg_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('seg') / 'seg.pth')
    model = randomize(build_model(SEG_CFG), seed=2)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def seg_images():
    from litehrnet_mm.datasets.synthetic.cityscapes import render_scene
    rng = np.random.default_rng(0)
    img = render_scene(rng, 256, 512)[0]
    # the test pipeline resizes to fit 512x256: 240x500 to 246x512, padded to 256x512 and
    # cropped back; 110x400 to 141x512, padded to 160x512 (a second size)
    return dict(multiple=img, other=render_scene(rng, 256, 512)[0][:240, :500],
                wide=render_scene(rng, 256, 512)[0][:110, :400])


@pytest.mark.parametrize('backend', BACKENDS)
def test_seg_backend_gives_the_plain_models_logits(backend, seg_checkpoint, seg_images, cache):
    from mmseg.apis import inference_model
    options = {} if backend == 'pytorch' else dict(cache_dir=cache)
    model = init_fast_model(SEG_CFG, seg_checkpoint, backend, **options)
    assert type(model).__name__ == 'FastEncoderDecoder'
    padded = Config.fromfile(SEG_CFG)  # the plain model, padding as the fast one does
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
        assert len(model.runtime.log) == 1, model.runtime.log


def test_artefacts_record_what_they_were_built_from(trained_pose, pose_data, cache):
    from litehrnet_mm.inference import read_record
    for backend in ('onnxruntime', 'compiled'):
        model, path = pose_artefact(trained_pose, pose_data, cache, backend)
        record = read_record(path)
        assert record['graph'] == 'features' and record['backend'] == backend
        assert record['config']['file'] == POSE_CFG
        assert record['input']['height'] == 128 and record['input']['width'] == 96
        assert record['torch'] == torch.__version__
        other = randomize(copy.deepcopy(model), seed=6)
        assert record['weights_sha256'] != make_record(other, 'features', backend, 1, 1)[
            'weights_sha256']
        import onnxruntime
        assert record['runtime'] == (onnxruntime.__version__ if backend == 'onnxruntime'
                                     else None)


# refusals


def _first_call(model, img, boxes):
    from mmpose.apis import inference_topdown
    return inference_topdown(model, img, boxes)


def test_unknown_backend_option_and_missing_package(monkeypatch):
    with pytest.raises(ValueError, match='unknown backend .tensorrt.: choose one of pytorch'):
        fast_config(POSE_CFG, 'tensorrt')
    with pytest.raises(ValueError, match=r"backend 'pytorch' takes the options \(none\), got "
                                         r"\['threads'\]"):
        fast_config(POSE_CFG, 'pytorch', threads=2)
    with pytest.raises(ValueError, match="openvino static_shapes must be True or False, got "
                                         "'yes'"):
        fast_config(POSE_CFG, 'openvino', static_shapes='yes')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'openvino' else real(name, *a))
    with pytest.raises(ImportError, match='needs the Python package openvino.*pip install '
                                          'openvino'):
        fast_config(POSE_CFG, 'openvino')
    cfg = Config.fromfile(POSE_CFG)
    cfg.model.type = 'BottomupPoseEstimator'
    with pytest.raises(ValueError, match="model type 'BottomupPoseEstimator' has no fast form"):
        fast_config(cfg, 'pytorch')


def test_cpu_backend_refuses_another_device(trained_pose):
    model = init_fast_model(POSE_CFG, trained_pose, 'onnxruntime')
    with pytest.raises(RuntimeError, match="backend 'onnxruntime' runs on the CPU, not on meta"):
        model.to('meta')


def test_artefact_of_other_weights_size_or_graph_is_refused(
        trained_pose, pose_data, cache, tmp_path):
    img, boxes = next(iter(pose_data['boxes'].items()))
    model, onnx_file = pose_artefact(trained_pose, pose_data, cache, 'onnxruntime')
    # other weights
    other = str(tmp_path / 'other.pth')
    save_checkpoint({'state_dict': randomize(copy.deepcopy(model), 4).state_dict()}, other)
    fast = init_fast_model(POSE_CFG, other, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built from other weights'):
        _first_call(fast, img, boxes)
    # another input size (the COCO config: same network, 256x192)
    fast = init_fast_model(COCO_CFG, trained_pose, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built for 128x96 inputs, the model is given 256x192'):
        _first_call(fast, img, boxes)
    # another config: the same weights, the backbone with checkpointing (not the same graph)
    other_cfg = Config.fromfile(POSE_CFG)
    other_cfg.model.backbone.with_cp = True
    fast = init_fast_model(other_cfg, trained_pose, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built from another config'):
        _first_call(fast, img, boxes)
    # a file of another backend
    with pytest.raises(ValueError, match=r"backend 'onnxruntime' runs .onnx files.*use backend "
                                         r"'compiled'"):
        fast_config(POSE_CFG, 'onnxruntime', artefact=_touch(tmp_path / 'x.pt2'))
    # the whole-model export of tools/export_onnx.py (heatmaps): not the features graph
    whole = str(tmp_path / 'whole.onnx')
    load_tool('export_onnx').main([POSE_CFG, '--checkpoint', trained_pose, '--out', whole])
    with pytest.raises(ValueError, match="runs the 'heatmaps' graph, the model needs "
                                         "'features'"):
        init_fast_model(POSE_CFG, None, 'onnxruntime', artefact=whole)  # no weights yet


def _touch(path) -> str:
    path.write_bytes(b'not a package')
    return str(path)


# the command line: tools/infer.py


def test_command_on_a_folder_with_boxes_and_a_non_image_file(trained_pose, pose_data, cache,
                                                             plain_pose, tmp_path, capsys):
    import shutil
    folder = tmp_path / 'images'
    folder.mkdir()
    for img in pose_data['boxes']:
        shutil.copy(img, folder)
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    with pytest.warns(UserWarning, match='skipping .*notes.txt: not an image'):
        summary = load_tool('infer').main([
            POSE_CFG, str(folder), '--checkpoint', trained_pose, '--backend', 'onnxruntime',
            '--cache-dir', cache, '--bboxes', pose_data['ann_file'], '--out-dir', str(out)])
    printed = capsys.readouterr().out
    assert f'{NUM_VAL} images in' in printed and 'images/s with backend onnxruntime' in printed
    assert summary['images'] == NUM_VAL and summary['images_per_second'] > 0
    records = {r['image']: r['instances'] for r in json.load(open(out / 'keypoints.json'))}
    for img, expected in plain_pose.items():
        instances = records[osp.splitext(osp.basename(img))[0]]
        assert len(instances) == len(expected)
        for got, ref in zip(instances, expected):
            np.testing.assert_allclose(got['bbox'][0], ref.pred_instances.bboxes[0], atol=1e-3)
            diff = np.abs(np.array(got['keypoints']) - ref.pred_instances.keypoints[0])
            assert (diff.max(-1) <= 0.5).mean() >= 0.9  # near ties aside, as above
    vis = sorted(p.name for p in (out / 'vis').iterdir())
    assert vis == sorted(osp.splitext(osp.basename(i))[0] + '.png' for i in pose_data['boxes'])


def test_command_on_a_video(trained_pose, pose_data, tmp_path):
    import cv2
    video = str(tmp_path / 'clip.mp4')
    frames = [cv2.imread(img) for img in pose_data['boxes']][:3]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    out = tmp_path / 'out'
    summary = load_tool('infer').main([POSE_CFG, video, '--checkpoint', trained_pose,
                                       '--backend', 'pytorch', '--out-dir', str(out)])
    assert summary['images'] == 3
    records = json.load(open(out / 'keypoints.json'))
    assert [r['image'] for r in records] == [f'clip_{i:06d}' for i in range(3)]
    assert all(len(r['instances']) == 1 for r in records)  # the whole frame
    drawn = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    count = 0
    while drawn.read()[0]:
        count += 1
    assert count == 3


def test_command_on_segmentation(seg_checkpoint, seg_images, cache, tmp_path):
    import cv2
    img_file = str(tmp_path / 'scene.png')
    cv2.imwrite(img_file, seg_images['other'])
    out = tmp_path / 'out'
    summary = load_tool('infer').main([SEG_CFG, img_file, '--checkpoint', seg_checkpoint,
                                       '--backend', 'openvino', '--cache-dir', cache,
                                       '--out-dir', str(out)])
    assert summary['images'] == 1
    labels = cv2.imread(str(out / 'pred' / 'scene.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == seg_images['other'].shape[:2]
    from mmseg.apis import inference_model
    expected = inference_model(init_fast_model(SEG_CFG, seg_checkpoint, 'pytorch'),
                               seg_images['other']).pred_sem_seg.data[0].numpy()
    assert (labels == expected).mean() > 0.999
    overlay = cv2.imread(str(out / 'vis' / 'scene.png'))
    assert overlay.shape == seg_images['other'].shape
    assert np.abs(overlay.astype(int) - seg_images['other']).max() > 50


@pytest.mark.parametrize('case', ['unreadable image', 'unreadable video', 'missing input',
                                  'boxes for segmentation', 'missing checkpoint',
                                  'boxes file not JSON', 'boxes without file names',
                                  'missing runtime package'])
def test_command_refuses_bad_input_before_any_work(case, tmp_path, monkeypatch):
    bad = tmp_path / ('bad.mp4' if 'video' in case else 'bad.png')
    bad.write_bytes(b'\x00garbage')
    config, extra = POSE_CFG, ['--random-weights']
    target, message = str(bad), 'cannot read image .*bad.png'
    if 'boxes' in case or 'package' in case:  # a readable image
        import cv2
        target = str(tmp_path / 'person.png')
        cv2.imwrite(target, np.zeros((64, 48, 3), np.uint8))
    if case == 'boxes file not JSON':
        extra, message = extra + ['--bboxes', str(bad)], 'bad.png is not JSON'
    elif case == 'boxes without file names':
        boxes = tmp_path / 'detections.json'
        boxes.write_text(json.dumps([dict(image_id=1, bbox=[0, 0, 10, 10], score=0.9)]))
        extra, message = extra + ['--bboxes', str(boxes)], \
            'entry 0 has no file name .*detection results with only an image_id'
    elif case == 'missing runtime package':
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, 'find_spec',
                            lambda name, *a: None if name == 'onnxruntime' else real(name, *a))
        extra, message = extra + ['--backend', 'onnxruntime'], 'pip install onnxruntime'
    if case == 'unreadable video':
        message = 'cannot read video .*bad.mp4'
    elif case == 'missing input':
        target, message = str(tmp_path / 'nothing.png'), 'input not found'
    elif case == 'boxes for segmentation':
        config, extra, message = SEG_CFG, ['--random-weights', '--bboxes', str(bad)], \
            '--bboxes is for pose configs'
    elif case == 'missing checkpoint':
        extra, message = ['--checkpoint', str(tmp_path / 'no.pth')], 'checkpoint not found'
    out = tmp_path / 'out'
    with pytest.raises(SystemExit, match=message):
        load_tool('infer').main([config, target, '--out-dir', str(out), *extra])
    assert not out.exists()  # refused before any work
