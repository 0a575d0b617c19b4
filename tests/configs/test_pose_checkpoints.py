"""MMPose-zoo checkpoint layouts load strictly into our configs; MMPose's inference APIs and
visualizer work with our model."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint, save_checkpoint

from litehrnet_mm.testing import assert_close, randomize, unscoped


@pytest.fixture(scope='module')
def mmpose_config(mmpose_configs):
    """MMPose's own Lite-HRNet-18 COCO config (installed with MMPose)."""
    return osp.join(mmpose_configs, 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                    'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


@pytest.fixture(scope='module')
def mmpose_model(mmpose_config):
    """MMPose's own Lite-HRNet-18 pose model with non-trivial weights (a 'zoo' model)."""
    from mmpose.apis import init_model
    model = init_model(Config.fromfile(mmpose_config), device='cpu')
    return randomize(model, seed=3).eval()


@pytest.mark.parametrize('layout', ['1.x', '0.x'])
def test_zoo_checkpoint_loads_strictly_and_gives_same_heatmaps(mmpose_model, tmp_path, layout,
                                                               configs):
    from mmpose.apis import init_model
    state = mmpose_model.state_dict()
    assert any(k.startswith('backbone.head_layer.') for k in state)
    if layout == '0.x':  # MMPose 0.x: TopdownHeatmapSimpleHead under `keypoint_head.`
        state = {k.replace('head.final_layer', 'keypoint_head.final_layer'): v
                 for k, v in state.items()}
        assert any(k.startswith('keypoint_head.') for k in state)
    path = str(tmp_path / f'zoo_{layout}.pth')
    save_checkpoint({'state_dict': state, 'meta': {}}, path)

    ours = init_model(configs.coco, device='cpu')
    load_checkpoint(ours, path, map_location='cpu', strict=True)
    ours.eval()
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        expected = mmpose_model(x, None, mode='tensor')
        assert expected.abs().mean() > 1e-3
        assert_close(ours(x, None, mode='tensor'), expected)


def test_custom_imports_example_swaps_only_the_backbone(configs, mmpose_config):
    from mmpose.apis import init_model

    from litehrnet_mm.models import LiteHRNet
    ours, theirs = Config.fromfile(configs.example_mmpose), Config.fromfile(mmpose_config)
    assert ours.model.backbone.type == 'litehrnet_mm.LiteHRNet'
    # MMEngine marks every dict inherited through `mmpose::` with `_scope_`
    ours_dict, theirs_dict = unscoped(ours.to_dict()), unscoped(theirs.to_dict())
    for d in (ours_dict, theirs_dict):
        d['model']['backbone'].pop('type')
        d.pop('custom_imports', None)
    assert ours_dict['model'] == theirs_dict['model']
    assert ours_dict['train_dataloader'] == theirs_dict['train_dataloader']
    assert type(init_model(ours, device='cpu').backbone) is LiteHRNet


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, mmpose_model):
    path = str(tmp_path_factory.mktemp('ckpt') / 'model.pth')
    save_checkpoint({'state_dict': mmpose_model.state_dict(), 'meta': {}}, path)
    return path


def _image():
    from litehrnet_mm.datasets.synthetic.pose import random_figure, render
    rng = np.random.default_rng(0)
    joints, unit = random_figure(rng, 192, 256)
    return render(rng, joints, unit, 192, 256)


def test_init_model_inference_topdown_and_visualizer(checkpoint, tmp_path, configs):
    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    model = init_model(configs.coco, checkpoint, device='cpu')
    img = _image()
    results = inference_topdown(model, img, bboxes=np.array([[10, 10, 180, 250]]))
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    vis = VISUALIZERS.build(model.cfg.visualizer)
    vis.set_dataset_meta(model.dataset_meta)
    drawn = {}
    for thr in (-1e9, 1e9):  # every keypoint (random weights: any score) / none
        out = str(tmp_path / f'vis_{thr}.png')
        vis.add_datasample('r', mmcv.bgr2rgb(img), results[0], draw_gt=False,
                           draw_bbox=False, kpt_thr=thr, out_file=out)
        drawn[thr] = mmcv.imread(out).astype(int)
    assert drawn[-1e9].shape == img.shape
    assert (np.abs(drawn[-1e9] - drawn[1e9]).max(-1) > 0).sum() > 20  # the keypoints


def test_mmpose_inferencer(checkpoint, tmp_path, configs):
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(pose2d=configs.coco, pose2d_weights=checkpoint,
                                  det_model='whole_image', device='cpu')
    img = _image()
    out_dir = tmp_path / 'out'
    result = next(inferencer(img, vis_out_dir=str(out_dir), kpt_thr=-1e9))
    person = result['predictions'][0][0]
    assert np.array(person['keypoints']).shape == (17, 2)
    # the same keypoints as MMPose's inference_topdown with the whole image as the box
    from mmpose.apis import inference_topdown, init_model
    expected = inference_topdown(init_model(configs.coco, checkpoint, device='cpu'), img)[0]
    np.testing.assert_allclose(person['keypoints'], expected.pred_instances.keypoints[0],
                               rtol=0, atol=1e-3)
    np.testing.assert_allclose(person['keypoint_scores'],
                               expected.pred_instances.keypoint_scores[0], rtol=0, atol=1e-5)
    files = list(out_dir.glob('*'))
    assert len(files) == 1
    drawn = mmcv.imread(str(files[0]))
    assert drawn.shape == img.shape
    assert (np.abs(drawn.astype(int) - img.astype(int)).max(-1) > 60).sum() > 20
