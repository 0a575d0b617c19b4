"""Bad pose inputs fail fast, saying what and where."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests.tools_loader import ROOT

CONFIG = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'synthetic',
                  'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-128x96.py')


def _build_dataset(**changes):
    from mmpose.registry import DATASETS
    cfg = Config.fromfile(CONFIG).train_dataloader.dataset
    cfg.update(changes)
    with DefaultScope.overwrite_default_scope('mmpose'):
        return DATASETS.build(cfg)


def test_missing_data_root(tmp_path):
    root = str(tmp_path / 'nowhere') + '/'
    with pytest.raises(AssertionError, match=r'nowhere/annotations/person_keypoints_train.json'
                       r'.*does not exist'):
        _build_dataset(data_root=root)


def test_wrong_ann_file(tmp_path):
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    root = make_coco_keypoints(str(tmp_path / 'coco'), 2, 1)
    with pytest.raises(AssertionError, match=r'annotations/typo.json.*does not exist'):
        _build_dataset(data_root=root + '/', ann_file='annotations/typo.json')
    assert len(_build_dataset(data_root=root + '/')) == 2  # the right one works


def test_unknown_arch_in_a_config():
    from mmpose.apis import init_model
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.arch = '45'
    with pytest.raises(ValueError, match=r"arch '45' is not a Lite-HRNet variant; expected one "
                       r"of \['18', '30', 'naive-18', 'wider-naive-18'\]"):
        init_model(cfg, device='cpu')
