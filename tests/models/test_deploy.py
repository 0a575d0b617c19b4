"""The deploy form: its own modules, derived after loading, equal to the training form in eval
mode for every variant and every part."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.deploy import to_deploy
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.models.blocks import (ConditionalChannelWeighting, FuseLayers, IterativeHead,
                                        LiteHRModule, Stem, Transition)
from tests.helpers import ARCHS, assert_close, randomize
from tests.models.test_blocks import WIDTHS, branches


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('with_head', [True, False])
def test_switch_to_deploy_keeps_outputs(arch, with_head):
    model = randomize(LiteHRNet(arch=arch, with_head=with_head,
                                out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
        actual = model(x)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert not any(isinstance(m, (Stem, Transition, LiteHRModule, IterativeHead))
                   for m in model.modules())
    for a, b in zip(actual, expected):
        assert_close(a, b, rel=1e-4)
    with pytest.raises(RuntimeError, match='cannot be trained'):
        model.train()


@pytest.mark.parametrize('size', [(250, 190), (97, 65)])
def test_deploy_form_at_odd_sizes(size):
    model = randomize(LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
        for a, b in zip(model(x), expected):
            assert_close(a, b, rel=1e-4)


@pytest.mark.parametrize('make,inputs', [
    (lambda: Stem(3, 32, 32, 1), lambda: torch.randn(2, 3, 64, 48)),
    (lambda: Transition([40, 80], [40, 80, 160]), lambda: branches(WIDTHS[:2])),
    (lambda: ConditionalChannelWeighting(WIDTHS, 8), lambda: branches(WIDTHS)),
    (lambda: FuseLayers(WIDTHS), lambda: branches(WIDTHS)),
    (lambda: LiteHRModule(WIDTHS[:3], 2, 8, 'NAIVE'), lambda: branches(WIDTHS[:3])),
    (lambda: IterativeHead(WIDTHS), lambda: branches(WIDTHS)),
], ids=['stem', 'transition', 'ccw', 'fuse', 'naive-module', 'head'])
@pytest.mark.parametrize('kernels', ['plain ops', 'eager kernels'])
def test_each_part_has_an_equal_deploy_form(make, inputs, kernels):
    """Both implementations: plain ops (what export and compile see) on contiguous inputs,
    the eager kernels on channels-last inputs."""
    module = randomize(make()).eval()
    x = inputs()
    fast = to_deploy(module)
    assert type(fast) is not type(module)
    fast_x = x
    if kernels == 'eager kernels':
        cl = lambda t: t.contiguous(memory_format=torch.channels_last)  # noqa: E731
        fast_x = cl(x) if isinstance(x, torch.Tensor) else [cl(t) for t in x]
    with torch.no_grad():
        expected, actual = module(x), fast(fast_x)
    if isinstance(expected, torch.Tensor):
        expected, actual = [expected], [actual]
    for a, b in zip(actual, expected):
        assert_close(a, b, rel=1e-4)


def test_deploy_needs_batchnorm():
    model = LiteHRNet(arch='18', norm_cfg=dict(type='GN', num_groups=1)).eval()
    with pytest.raises(TypeError, match='GroupNorm depends on each input'):
        model.switch_to_deploy()


def test_deploy_flag_switches_after_loading():
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


def test_torch_compile_deploy_form_matches_eager():
    model = randomize(LiteHRNet(arch='18')).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]
        model.switch_to_deploy()
        compiled = torch.compile(model)
        assert_close(compiled(x)[0], expected, rel=1e-4)


def test_deploy_form_copies_and_pickles_after_eager_inference():
    """Eager inference packs convolution weights for oneDNN (opaque tensors, which neither
    deepcopy nor pickle); copies made after it (an EMA model, ``copy.deepcopy`` before
    another export) and ``torch.save`` of the whole module still work and give the same
    outputs."""
    import copy
    import io
    model = randomize(LiteHRNet(arch='18')).eval()
    model.switch_to_deploy()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]  # packs the weights
        copied = copy.deepcopy(model)
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        for other in (copied, loaded):
            assert_close(other(x)[0], expected, rel=1e-6)


@pytest.mark.parametrize('groups,stride', [(1, 2), (16, 1)], ids=['onednn', 'depthwise'])
def test_folded_conv_follows_weights_loaded_after_eager_inference(groups, stride):
    """Eager inference derives forms of a convolution's weights once (oneDNN-packed, or the
    depthwise kernel's taps); weights loaded afterwards replace them."""
    from litehrnet_mm.deploy.layers import FoldedConv
    x = torch.randn(1, 16, 12, 10).contiguous(memory_format=torch.channels_last)
    first, second = [FoldedConv(torch.randn(16, 16 // groups, 3, 3), torch.randn(16), stride,
                                1, groups) for _ in range(2)]
    with torch.no_grad():
        first(x)  # derives its forms of its own weights
        expected = second(x)
        first.load_state_dict(second.state_dict())
        assert_close(first(x), expected, rel=1e-5)


def test_eager_inference_takes_the_eager_kernels():
    """Eager inference runs on channels-last tensors through oneDNN convolutions with fused
    activations and MKL matrix products, with no upsampled tensor materialised."""
    model = randomize(LiteHRNet(arch='18')).eval()
    model.switch_to_deploy()
    with torch.no_grad(), torch.profiler.profile() as prof:
        model(torch.randn(1, 3, 64, 64))
    ops = {e.key for e in prof.key_averages()}
    assert 'mkldnn::_convolution_pointwise' in ops and 'aten::addmm' in ops
    assert 'aten::upsample_nearest2d' not in ops and 'aten::_slow_conv2d_forward' not in ops
