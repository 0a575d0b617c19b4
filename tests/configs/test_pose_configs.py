"""Every pose config loads, builds with MMPose, uses our backbone, and says what it trains."""
import glob
import os.path as osp
import re

from mmengine.config import Config

from litehrnet_mm.models import LiteHRNet

PARAMS = {'18': 1_130_072, '30': 1_763_020, 'naive-18': 759_838, 'wider-naive-18': 1_317_928}


def test_all_published_configs_are_there(repo_root):
    names = {osp.basename(p) for p in glob.glob(
        osp.join(repo_root, 'configs', 'body_2d_keypoint', '**', '*.py'), recursive=True)}
    for name in ['td-hm_litehrnet-18_8xb64-210e_coco-256x192.py',
                 'td-hm_litehrnet-18_8xb32-210e_coco-384x288.py',
                 'td-hm_litehrnet-30_8xb64-210e_coco-256x192.py',
                 'td-hm_litehrnet-30_8xb32-210e_coco-384x288.py',
                 'td-hm_naive-litehrnet-18_8xb64-210e_coco-256x192.py',
                 'td-hm_wider-naive-litehrnet-18_8xb64-210e_coco-256x192.py',
                 'td-hm_litehrnet-18_8xb32-210e_mpii-256x256.py',
                 'td-hm_litehrnet-30_8xb32-210e_mpii-256x256.py']:
        assert name in names


def test_config_builds(pose_config_file):
    from mmpose.apis import init_model
    path = pose_config_file
    cfg = Config.fromfile(path)
    model = init_model(cfg, device='cpu')
    assert type(model.backbone) is LiteHRNet
    arch = cfg.model.backbone.arch
    joints = cfg.model.head.out_channels
    head_params = (cfg.model.head.in_channels + 1) * joints
    assert sum(p.numel() for p in model.parameters()) == PARAMS[arch] + head_params
    # the published checkpoint layout: the IterativeHead inside the backbone
    assert any(k.startswith('backbone.head_layer.') for k in model.state_dict())
    # input size in the file name matches the codec (h x w)
    h, w = map(int, re.search(r'(\d+)x(\d+)\.py$', path).groups())
    assert tuple(cfg.codec.input_size) == (w, h)
    assert tuple(cfg.codec.heatmap_size) == (w // 4, h // 4)
    # batch per GPU in the file name matches the data loader
    assert f'xb{cfg.train_dataloader.batch_size}-' in osp.basename(path)
    assert f'-{cfg.train_cfg.max_epochs}e_' in osp.basename(path)


def test_published_recipe(published_pose_config_file):
    path = published_pose_config_file
    cfg = Config.fromfile(path)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-3)
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.start_factor) == ('LinearLR', 500, 0.001)
    assert (steps.milestones, steps.gamma, steps.end) == ([170, 200], 0.1, 210)
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.auto_scale_lr.base_batch_size == 8 * cfg.train_dataloader.batch_size
    assert cfg.model.test_cfg.flip_test and cfg.model.test_cfg.shift_heatmap
    sigma = 3 if '384x288' in path else 2
    assert cfg.codec.sigma == sigma
    text = open(path).read()
    assert 'Published' in text and 'Adam lr 2e-3' in text
