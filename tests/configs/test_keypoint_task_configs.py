"""The configs of the keypoint families (faces, hands, whole bodies, animals, your own): each
builds with the stock MMPose parts its base config names, its head fits its data set, the
COCO-WholeBody-Hand model is MMPose's own Lite-HRNet, and a head that does not fit its data
is refused."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from litehrnet_mm.builder import build_model, build_model_part, config_dataset_metas
from litehrnet_mm.mim import derived_config
from litehrnet_mm.testing import randomize
from tests.conftest import ROOT

FAMILIES = ('face_2d_keypoint', 'hand_2d_keypoint', 'wholebody_2d_keypoint',
            'animal_2d_keypoint', 'custom_keypoints')
TASK_CONFIGS = sorted(
    p for f in FAMILIES for p in glob.glob(osp.join(ROOT, 'configs', f, '**', '*.py'),
                                           recursive=True) if not p.endswith('_metainfo.py'))
HAND = osp.join(ROOT, 'configs', 'hand_2d_keypoint', 'topdown_heatmap', 'coco_wholebody_hand',
                'td-hm_litehrnet-18_8xb32-210e_coco-wholebody-hand-256x256.py')
CUSTOM = osp.join(ROOT, 'configs', 'custom_keypoints',
                  'td-hm_litehrnet-18_1xb16-30e_house-5kpt-128x128.py')


def test_every_family_and_data_set_has_its_configs():
    names = {osp.basename(p) for p in TASK_CONFIGS}
    for expected in (
            'td-hm_litehrnet-18_8xb64-210e_coco-wholebody-256x192.py',
            'td-hm_litehrnet-30_8xb64-210e_coco-wholebody-256x192.py',
            'td-hm_litehrnet-18_8xb32-210e_coco-wholebody-hand-256x256.py',
            'td-hm_litehrnet-18_8xb64-210e_onehand10k-256x256.py',
            'td-hm_litehrnet-18_8xb64-210e_rhd2d-256x256.py',
            'td-hm_litehrnet-18_8xb64-100e_freihand2d-224x224.py',
            'td-hm_litehrnet-18_8xb64-60e_wflw-256x256.py',
            'td-hm_litehrnet-18_8xb64-60e_300w-256x256.py',
            'td-hm_litehrnet-18_8xb64-60e_cofw-256x256.py',
            'td-hm_litehrnet-18_8xb32-60e_coco-wholebody-face-256x256.py',
            'td-hm_litehrnet-18_8xb64-210e_ap10k-256x256.py',
            'td-hm_litehrnet-30_8xb64-210e_ap10k-256x256.py',
            'td-hm_litehrnet-18_8xb64-210e_animalpose-256x256.py',
            'td-hm_litehrnet-30_8xb64-210e_animalpose-256x256.py',
            'td-hm_litehrnet-18_8xb64-210e_macaque-256x192.py',
            'td-hm_litehrnet-18_1xb16-30e_house-5kpt-128x128.py'):
        assert expected in names, expected


@pytest.mark.parametrize('path', TASK_CONFIGS, ids=osp.basename)
def test_config_builds_and_its_head_fits_its_data(path):
    """Our backbone under the stock estimator and HeatmapHead, one output channel per keypoint
    of every split's data set, heatmaps at a quarter of the input size, and a header that
    says what the file is for and where its recipe comes from."""
    cfg = Config.fromfile(path)
    text = open(path).read()
    assert text.startswith('# ') and ('Recipe' in text or 'recipe' in text or 'MMPose' in text)
    assert cfg.model.backbone.type == 'litehrnet_mm.LiteHRNet'
    assert cfg.model.type == 'TopdownPoseEstimator' and cfg.model.head.type == 'HeatmapHead'
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'litehrnet_mm.KeypointCountHook' in hooks
    metas = config_dataset_metas(cfg)
    assert set(metas) == {'train', 'val', 'test'}
    num = {m['num_keypoints'] for m in metas.values()}
    assert num == {cfg.model.head.out_channels}
    model = build_model_part(cfg.model, 'mmpose').eval()
    w, h = cfg.codec['input_size']
    with torch.no_grad():
        out = model(torch.zeros(1, 3, h // 2, w // 2), None, mode='tensor')
    assert tuple(out.shape) == (1, num.pop(), h // 8, w // 8)


def test_coco_wholebody_hand_model_is_mmposes_litehrnet(mmpose_configs):
    """Same parameters, same state-dict keys and shapes, and the same heatmaps from the same
    weights as MMPose's own Lite-HRNet-18 hand config: its checkpoints load strictly."""
    ours_cfg = Config.fromfile(HAND)
    ref_cfg = Config.fromfile(osp.join(
        mmpose_configs, 'hand_2d_keypoint', 'topdown_heatmap', 'coco_wholebody_hand',
        'td-hm_litehrnet-w18_8xb32-210e_coco-wholebody-hand-256x256.py'))
    ours = build_model_part(ours_cfg.model, 'mmpose').eval()
    ref = randomize(build_model_part(ref_cfg.model, 'mmpose')).eval()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(ref) > 1_000_000
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected, actual = ref(x, None, mode='tensor'), ours(x, None, mode='tensor')
    assert expected.shape == (2, 21, 32, 32) and expected.abs().mean() > 1e-3
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


def test_a_head_that_does_not_fit_the_data_is_refused_when_built(tmp_path):
    wrong = derived_config(CUSTOM, str(tmp_path / 'wrong.py'),
                           dict(model=dict(head=dict(out_channels=17))))
    with pytest.raises(ValueError, match=r'head predicts 17 keypoints .* \(house_5kpt\) '
                                         r'defines 5\. Set model\.head\.out_channels=5'):
        build_model(wrong)
    from litehrnet_mm.builder import build_initialised_model
    with pytest.raises(ValueError, match='predicts 17 keypoints'):
        build_initialised_model(wrong)
    build_model(CUSTOM)  # the template itself fits


def test_the_runner_refuses_it_before_the_first_iteration(tmp_path):
    """Through MMEngine's runner (what ``mim train`` runs): KeypointCountHook raises at the
    start of the run, before any training step, naming both numbers."""
    from mmengine.runner import Runner

    from litehrnet_mm.datasets.synthetic.tasks import make
    data = make('custom', str(tmp_path / 'data'), 2, 1)
    cfg = Config.fromfile(CUSTOM)
    cfg.merge_from_dict({
        'model.head.out_channels': 4, 'work_dir': str(tmp_path / 'work'),
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': data + '/',
        'val_dataloader.dataset.data_root': data + '/',
        'test_dataloader.dataset.data_root': data + '/',
        'val_evaluator.ann_file': osp.join(data, 'annotations', 'val.json'),
        'test_evaluator.ann_file': osp.join(data, 'annotations', 'val.json')})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'head predicts 4 keypoints .* defines 5'):
        runner.train()
    assert runner.iter == 0
