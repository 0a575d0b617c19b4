"""Every segmentation config loads, builds with MMSeg and uses our backbone as published."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import unscoped


@pytest.fixture(scope='module')
def build(build_part):
    """``build(cfg)``: the config's segmentor (SyncBN as BN: one process), in eval mode."""
    return lambda cfg: revert_sync_batchnorm(build_part(cfg.model, 'mmseg')).eval()


def test_config_builds_and_segments(seg_config_file, build):
    cfg = Config.fromfile(seg_config_file)
    model = build(cfg)
    assert type(model.backbone) is LiteHRNet
    assert model.backbone.out_indices == (0, 1, 2, 3)
    heads = model.decode_head if isinstance(model.decode_head, torch.nn.ModuleList) \
        else [model.decode_head]
    for head in heads:  # resize_concat heads keep the total of their input widths
        assert head.input_transform == 'resize_concat'
        assert head.in_channels == sum(model.backbone.out_channels)
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 128), mode='tensor')
    assert logits.shape == (1, 19, 16, 32)


def test_cityscapes_recipe(cityscapes_config_file):
    path = cityscapes_config_file
    cfg = Config.fromfile(path)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=0.0005)
    poly, = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9, 1e-4, 160000)
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 2
    assert cfg.crop_size == (512, 1024)
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.pretrained is None
    steps = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert steps == ['LoadImageFromFile', 'LoadAnnotations', 'litehrnet_mm.CheckSegLabels',
                     'RandomResize', 'RandomCrop', 'RandomFlip', 'PhotoMetricDistortion',
                     'PackSegInputs']
    name = osp.basename(path)
    assert '_8xb2-160k_cityscapes-512x1024' in name
    # one naming convention with the pose configs: the published network has the IterativeHead
    assert cfg.model.backbone.with_head == ('-nohead' not in name)


def test_custom_imports_example_on_mmsegs_hrnet_config(configs, mmseg_configs, build):
    theirs = Config.fromfile(osp.join(mmseg_configs, 'hrnet',
                                      'fcn_hr18_4xb2-160k_cityscapes-512x1024.py'))
    ours = Config.fromfile(configs.example_mmseg)
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert unscoped(ours.to_dict()[key]) == unscoped(theirs.to_dict()[key]), key
    assert ours.model.decode_head.type == theirs.model.decode_head.type == 'FCNHead'
    assert type(build(ours).backbone) is LiteHRNet
