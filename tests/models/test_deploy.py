"""The deploy form (BatchNorm folded) and torch.compile."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.models import LiteHRNet
from tests.helpers import ARCHS, assert_close, randomize


@pytest.mark.parametrize('arch', ARCHS)
def test_switch_to_deploy_keeps_outputs(arch):
    model = randomize(LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
        actual = model(x)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    for a, b in zip(actual, expected):
        assert_close(a, b, rel=1e-4)
    with pytest.raises(RuntimeError, match='cannot be trained'):
        model.train()


def test_deploy_flag_folds_after_loading():
    src = randomize(LiteHRNet(arch='18')).eval()
    model = LiteHRNet(arch='18', deploy=True)
    model.load_state_dict(src.state_dict())  # the same checkpoints load: switch comes later
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x)[0]
        assert model.deployed
        assert_close(out, src(x)[0])


def test_deploy_flag_keeps_training_form_while_training():
    model = LiteHRNet(arch='18', deploy=True).train()
    model(torch.randn(2, 3, 64, 64))
    assert not model.deployed
    assert any(isinstance(m, _BatchNorm) for m in model.modules())


def test_mmposes_switch_to_deploy_reaches_the_backbone():
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS
    codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    with DefaultScope.overwrite_default_scope('mmpose'):
        model = MODELS.build(dict(
            type='TopdownPoseEstimator', backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18'),
            head=dict(type='HeatmapHead', in_channels=40, out_channels=17,
                      deconv_out_channels=None, loss=dict(type='KeypointMSELoss'),
                      decoder=codec))).eval()
    model.switch_to_deploy()
    assert model.backbone.deployed


def test_torch_compile_one_block_matches_eager():
    from litehrnet_mm.models.blocks import ConditionalChannelWeighting
    block = randomize(ConditionalChannelWeighting([40, 80, 160], reduce_ratio=8)).eval()
    xs = [torch.randn(1, c, 32 // 2**i, 24 // 2**i) for i, c in enumerate((40, 80, 160))]
    compiled = torch.compile(block)
    with torch.no_grad():
        for a, b in zip(compiled(xs), block(xs)):
            assert_close(a, b, rel=1e-4)
