"""The IterativeHead as a neck: same numbers as inside the backbone, usable after other
backbones, and the published layout maps onto it."""
import pytest
import torch

from litehrnet_mm.models import IterativeHeadNeck, LiteHRNet, head_layer_to_neck
from litehrnet_mm.testing import assert_close, randomize


def test_neck_equals_the_head_inside_the_backbone():
    inside = randomize(LiteHRNet(arch='18', with_head=True)).eval()
    backbone = LiteHRNet(arch='18', with_head=False, out_indices=(0, 1, 2, 3)).eval()
    neck = IterativeHeadNeck(in_channels=(40, 80, 160, 320), out_indices=(0, 1, 2, 3)).eval()
    state = head_layer_to_neck({f'backbone.{k}': v for k, v in inside.state_dict().items()})
    backbone.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    neck.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith('neck.')})
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)).eval()
        expected.load_state_dict(inside.state_dict())
        for a, b in zip(neck(backbone(x)), expected(x)):
            assert_close(a, b)
    assert neck.out_channels == [40, 40, 80, 160]


def test_neck_after_mmposes_hrnet_in_a_pose_estimator(build_part):
    hrnet_extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(16, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(16, 32)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(16, 32, 64)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(16, 32, 64, 128), multiscale_output=True))
    codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    cfg = dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='HRNet', extra=hrnet_extra),
        neck=dict(type='litehrnet_mm.IterativeHead', in_channels=[16, 32, 64, 128]),
        head=dict(type='HeatmapHead', in_channels=16, out_channels=17,
                  deconv_out_channels=None, loss=dict(type='KeypointMSELoss'), decoder=codec))
    model = randomize(build_part(cfg, 'mmpose')).eval()
    assert type(model.neck) is IterativeHeadNeck
    # the neck computes what MMPose's own IterativeHead computes on HRNet's four outputs
    from mmpose.models.backbones.litehrnet import IterativeHead as MMPoseIterativeHead
    reference = MMPoseIterativeHead([16, 32, 64, 128]).eval()
    reference.load_state_dict(model.neck.state_dict())
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        heatmaps = model(x, None, mode='tensor')
        assert heatmaps.shape == (1, 17, 64, 48)
        assert_close(heatmaps, model.head.forward(reference(list(model.backbone(x)))[:1]))


@pytest.mark.parametrize('kwargs,message', [
    (dict(in_channels=[]), 'in_channels must be a list'),
    (dict(in_channels=[40, 80], out_indices=(2, )), r'out_indices must be ints in \[0, 1\]'),
])
def test_bad_neck_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IterativeHeadNeck(**kwargs)


def test_neck_says_when_the_backbone_returns_too_few_maps():
    neck = IterativeHeadNeck(in_channels=(40, 80, 160, 320))
    with pytest.raises(ValueError, match=r'out_indices for all'):
        neck([torch.randn(1, 40, 16, 16)])
