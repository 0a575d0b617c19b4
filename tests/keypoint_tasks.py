"""What the keypoint families' tests share (tests/configs/test_mim_*.py): a short run of a
family's synthetic config through ``mim train`` and ``mim test``, and the check that a fast
backend, through ``inference_topdown`` and through ``tools/infer.py``, gives the plain model's
keypoints on that run's checkpoint."""
import glob
import json
import math
import os.path as osp

import numpy as np

from litehrnet_mm.inference import init_fast_model
from litehrnet_mm.mim import derived_config, run_mim
from tests.conftest import ROOT, _load_tool

#: a few iterations: 16 training images in batches of 8, one epoch, validation at its end
SHORT = ['train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
         'val_dataloader.batch_size=4']
NUM_TRAIN, NUM_VAL = 16, 4


def family_run(family: str, tmp) -> dict:
    """The family's synthetic set (``NUM_TRAIN`` + ``NUM_VAL`` images), its config pointed
    at it, one short ``mim train``, then ``mim test`` of the checkpoint it saved."""
    from litehrnet_mm.datasets.synthetic.tasks import make
    demo = _load_tool('train_keypoints_demo')
    config, task, shown, best = demo.FAMILIES[family]
    config = osp.join(ROOT, config)
    data_root = make(task, str(tmp / 'data'), NUM_TRAIN, NUM_VAL)
    config = derived_config(config, str(tmp / 'config' / osp.basename(config)),
                            demo.data_settings(config, data_root))
    work_dir = str(tmp / 'work')
    run_mim(['train', 'mmpose', config, '--work-dir', work_dir, '--cfg-options', *SHORT])
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert glob.glob(osp.join(work_dir, best)), 'the best checkpoint by the metric was saved'
    metrics = demo.mim_test(config, checkpoint, str(tmp / 'test'))
    return dict(config=config, checkpoint=checkpoint, data_root=data_root, metrics=metrics,
                shown=shown, work_dir=work_dir, task=task)


def val_images(run: dict):
    """The val images of the run's set and their boxes (x1, y1, x2, y2), from the val
    annotation file of its config."""
    from mmengine.config import Config
    cfg = Config.fromfile(run['config'])
    dataset = cfg.val_dataloader.dataset
    ann_file = osp.join(dataset.data_root, dataset.ann_file)
    coco = json.load(open(ann_file))
    prefix = osp.join(dataset.data_root, dataset.get('data_prefix', {}).get('img', ''))
    boxes = {}
    for im in coco['images']:
        for a in coco['annotations']:
            if a['image_id'] == im['id']:
                x, y, w, h = a['bbox']
                boxes.setdefault(osp.join(prefix, im['file_name']), []).append(
                    [x, y, x + w, y + h])
    return {k: np.array(v) for k, v in boxes.items()}


def check_metrics(run: dict, expected_keys) -> None:
    """``mim test`` reported the family's metrics, each a finite number in its range."""
    metrics = run['metrics']
    assert set(expected_keys) <= set(metrics), metrics
    for key in expected_keys:
        value = metrics[key]
        assert math.isfinite(value), (key, value)
        if key.endswith(('AP', 'AR', 'PCK', 'AUC')):
            assert 0.0 <= value <= 1.0, (key, value)
        else:  # NME, EPE: errors
            assert value > 0.0, (key, value)


def check_fast_backend(run: dict, tmp, backend: str = 'pytorch', cache_dir: str = None) -> None:
    """The backend's heatmaps through ``inference_topdown`` match the plain model's on every
    val box (within the ONNX tests' tolerances); ``tools/infer.py`` with the backend and the
    val boxes writes the same keypoints. The default, ``pytorch``, is the deploy form (folded
    BatchNorm, our depthwise kernel): the ONNX backends are tested on the body model
    (tests/inference), and their export costs 20 s a family here."""
    from mmpose.apis import inference_topdown

    from litehrnet_mm.builder import build_model
    from tests.inference.test_fast_models import tolerance
    config = derived_config(run['config'], str(tmp / 'heatmaps.py'),
                            dict(model=dict(test_cfg=dict(output_heatmaps=True))))
    plain = build_model(config, run['checkpoint'])
    options = {} if backend == 'pytorch' else dict(cache_dir=cache_dir)
    fast = init_fast_model(config, run['checkpoint'], backend, **options)
    num_keypoints = plain.dataset_meta['num_keypoints']
    boxes = val_images(run)
    expected = {}
    for img, b in boxes.items():
        got, ref = inference_topdown(fast, img, b), inference_topdown(plain, img, b)
        assert len(got) == len(ref) == len(b)
        for g, r in zip(got, ref):
            hm, hm_ref = g.pred_fields.heatmaps.numpy(), r.pred_fields.heatmaps.numpy()
            assert hm.shape[0] == num_keypoints
            np.testing.assert_allclose(hm, hm_ref, **tolerance(hm_ref))
        expected[osp.splitext(osp.basename(img))[0]] = [r.pred_instances.keypoints[0]
                                                        for r in ref]
    out = tmp / 'infer'
    folders = {osp.dirname(img) for img in boxes}
    assert len(folders) == 1  # each split's images in one folder
    entries = [dict(file_name=osp.basename(img), bbox=[x1, y1, x2 - x1, y2 - y1])
               for img, b in boxes.items() for x1, y1, x2, y2 in b.tolist()]
    boxes_file = tmp / 'boxes.json'
    boxes_file.write_text(json.dumps(entries))
    summary = _load_tool('infer').main([
        run['config'], folders.pop(), '--checkpoint', run['checkpoint'], '--backend', backend,
        '--bboxes', str(boxes_file), '--out-dir', str(out), '--no-vis'] +
        ([] if backend == 'pytorch' else ['--cache-dir', cache_dir]))
    records = {r['image']: r['instances'] for r in json.load(open(out / 'keypoints.json'))}
    # the folder may hold the training images too (WFLW's layout): the boxes file gives them
    # no boxes, so no instances
    assert {k for k, v in records.items() if v} == set(expected)
    assert summary['images'] >= len(expected)
    for name, refs in expected.items():
        assert len(records[name]) == len(refs)
        for got, ref in zip(records[name], refs):
            assert np.array(got['keypoints']).shape == (num_keypoints, 2)
            # near ties of an almost untrained model aside, the same keypoints
            close = np.abs(np.array(got['keypoints']) - ref).max(-1) <= 0.5
            assert close.mean() >= 0.9, (name, close.mean())
