"""Bad pose inputs fail fast, saying what and where."""
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope


@pytest.fixture
def build_dataset(configs):
    """``build_dataset(**changes)``: the synthetic config's training set, changed."""
    def build(**changes):
        from mmpose.registry import DATASETS
        cfg = Config.fromfile(configs.synthetic_pose).train_dataloader.dataset
        cfg.update(changes)
        with DefaultScope.overwrite_default_scope('mmpose'):
            return DATASETS.build(cfg)
    return build


def test_missing_data_root(tmp_path, build_dataset):
    root = str(tmp_path / 'nowhere') + '/'
    with pytest.raises(AssertionError, match=r'nowhere/annotations/person_keypoints_train.json'
                       r'.*does not exist'):
        build_dataset(data_root=root)


def test_wrong_ann_file(tmp_path, build_dataset):
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    root = make_coco_keypoints(str(tmp_path / 'coco'), 2, 1)
    with pytest.raises(AssertionError, match=r'annotations/typo.json.*does not exist'):
        build_dataset(data_root=root + '/', ann_file='annotations/typo.json')
    assert len(build_dataset(data_root=root + '/')) == 2  # the right one works


def test_unknown_arch_in_a_config(configs):
    from mmpose.apis import init_model
    cfg = Config.fromfile(configs.synthetic_pose)
    cfg.model.backbone.arch = '45'
    with pytest.raises(ValueError, match=r"arch '45' is not a Lite-HRNet variant; expected one "
                       r"of \['18', '30', 'naive-18', 'wider-naive-18'\]"):
        init_model(cfg, device='cpu')
