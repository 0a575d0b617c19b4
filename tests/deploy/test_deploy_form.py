"""The deploy form: its own modules, derived after loading, equal to the training form in eval
mode for every variant, every part and every target; the target chosen once per forward."""
import copy
import pickle
from contextlib import nullcontext

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.deploy import (CHANNELS_LAST, TARGETS, TRACE_TARGETS, DeployForm,
                                 deploy_target, onednn, to_deploy)
from litehrnet_mm.deploy.kernels import depthwise_kernel
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.models.blocks import (ConditionalChannelWeighting, FuseLayers, IterativeHead,
                                        LiteHRModule, Stem, Transition)
from litehrnet_mm.testing import ARCHS, WIDTHS, assert_close, branches, randomize


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
@pytest.mark.parametrize('target', TARGETS)
def test_deploy_form_at_odd_sizes(size, target):
    """Branches that are not exactly halves (the exact-size resampling paths) in every
    target; the eager form, given autograd, runs the portable one."""
    model = randomize(LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = model(x)
    model.switch_to_deploy(target=target if target in ('eager', 'onnx') else None)
    context = deploy_target(model, target) if target in TRACE_TARGETS else nullcontext()
    with torch.no_grad(), context:
        for a, b in zip(model(x), expected):
            assert_close(a, b, rel=1e-4)
    if target == 'eager':
        for a, b in zip(model(x), expected):  # with autograd
            assert_close(a.detach(), b, rel=1e-4)


@pytest.mark.parametrize('make,inputs', [
    (lambda: Stem(3, 32, 32, 1), lambda: torch.randn(2, 3, 64, 48)),
    (lambda: Transition([40, 80], [40, 80, 160]), lambda: branches(WIDTHS[:2])),
    (lambda: ConditionalChannelWeighting(WIDTHS, 8), lambda: branches(WIDTHS)),
    (lambda: FuseLayers(WIDTHS), lambda: branches(WIDTHS)),
    (lambda: LiteHRModule(WIDTHS[:3], 2, 8, 'NAIVE'), lambda: branches(WIDTHS[:3])),
    (lambda: IterativeHead(WIDTHS), lambda: branches(WIDTHS)),
], ids=['stem', 'transition', 'ccw', 'fuse', 'naive-module', 'head'])
@pytest.mark.parametrize('target', TARGETS)
def test_each_part_has_an_equal_deploy_form(make, inputs, target):
    """Every target's implementation, on the inputs the backbone gives it: channels-last for
    the channels-last targets (eager: oneDNN, MKL and the kernel; inductor: public ops run
    eagerly here), contiguous for the ONNX targets."""
    module = randomize(make()).eval()
    x = inputs()
    fast = to_deploy(module)
    assert type(fast) is not type(module)
    fast_x = x
    if target in CHANNELS_LAST:
        cl = lambda t: t.contiguous(memory_format=torch.channels_last)  # noqa: E731
        fast_x = cl(x) if isinstance(x, torch.Tensor) else [cl(t) for t in x]
    with torch.no_grad():
        expected, actual = module(x), fast(fast_x, target)
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


def test_mmposes_switch_to_deploy_reaches_the_backbone(build_part):
    codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    model = build_part(dict(
        type='TopdownPoseEstimator', backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18'),
        head=dict(type='HeatmapHead', in_channels=40, out_channels=17, deconv_out_channels=None,
                  loss=dict(type='KeypointMSELoss'), decoder=codec)), 'mmpose').eval()
    model.switch_to_deploy()
    assert model.backbone.deployed


def test_deploy_form_copies_and_pickles_after_eager_inference():
    """Eager inference packs convolution weights for oneDNN (opaque tensors, which neither
    deepcopy nor pickle); copies made after it (an EMA model, ``copy.deepcopy`` before
    another export) and ``torch.save`` of the whole module still work and give the same
    outputs."""
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
                                1, groups, kernel=True) for _ in range(2)]
    with torch.no_grad():
        first(x, 'eager')  # derives its forms of its own weights
        expected = second(x, 'eager')
        first.load_state_dict(second.state_dict())
        assert_close(first(x, 'eager'), expected, rel=1e-5)


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


# the target: chosen once per forward by the backbone, passed down to every layer


def _ops(model, x):
    with torch.no_grad(), torch.profiler.profile() as prof:
        model(x)
    return {e.key for e in prof.key_averages()}


def test_the_backbone_chooses_the_target_once_per_forward():
    model = randomize(LiteHRNet(arch='18')).eval()
    model.switch_to_deploy()
    form = model.deploy_form
    assert form.target == 'eager'  # oneDNN is there on this CPU
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert form.resolve(x) == 'eager'
        assert form.resolve(x.double()) == 'onnx'  # the channels-last targets take float32
        assert form.resolve(torch.empty(1, 3, 64, 64, device='meta')) == 'onnx'
    assert form.resolve(x) == 'onnx'  # with autograd: public ops
    with deploy_target(model, 'openvino'), torch.no_grad():
        assert form.resolve(x) == 'openvino'
        with deploy_target(model, 'inductor'):
            assert form.resolve(x) == 'inductor'
        assert form.resolve(x) == 'openvino'
    assert form.tracing_for is None
    with pytest.raises(RuntimeError, match='inside'), deploy_target(model, 'onnx'):
        raise RuntimeError('inside')  # a trace that fails: the target is put back
    assert form.tracing_for is None
    for target in ('tensorrt', 'eager'):  # the eager layers keep state no trace may make
        with pytest.raises(ValueError, match=r"deploy target of a trace must be one of "
                                             rf"\('inductor', 'onnx', 'openvino'\), got "
                                             rf"'{target}'"):
            deploy_target(model, target).__enter__()


def test_the_target_is_chosen_once_per_forward(monkeypatch):
    model = randomize(LiteHRNet(arch='18')).eval()
    model.switch_to_deploy()
    calls = []
    resolve = DeployForm.resolve
    monkeypatch.setattr(DeployForm, 'resolve',
                        lambda self, x: calls.append(resolve(self, x)) or calls[-1])
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
        model(torch.randn(2, 3, 64, 64))
    assert calls == ['eager', 'eager']


def test_a_copied_or_saved_form_traces_nothing_and_needs_onednn(monkeypatch):
    """A form copied or pickled inside a trace does not keep the trace's target; an eager form
    where oneDNN's operators are not usable (another machine or torch) runs the portable
    target."""
    model = randomize(LiteHRNet(arch='18')).eval()
    model.switch_to_deploy()
    x = torch.randn(1, 3, 64, 64)
    with deploy_target(model, 'openvino'):
        copies = [copy.deepcopy(model), pickle.loads(pickle.dumps(model))]
    for other in copies:
        assert other.deploy_form.tracing_for is None and other.deploy_form.target == 'eager'
    monkeypatch.setattr(onednn, 'available', lambda: False)
    with torch.no_grad():
        assert copies[0].deploy_form.resolve(x) == 'onnx'
        with torch.profiler.profile() as prof:
            out = copies[1](x)[0]
    assert 'mkldnn::_convolution_pointwise' not in {e.key for e in prof.key_averages()}
    monkeypatch.undo()
    with torch.no_grad():
        assert_close(out, model(x)[0])


def test_a_deployed_backbone_refuses_another_target_or_kernel():
    model = LiteHRNet(arch='18').eval()
    model.switch_to_deploy(target='onnx', kernel=False)
    model.switch_to_deploy()  # again, as MMPose's estimator may: nothing to do
    model.switch_to_deploy(target='onnx', kernel=False)
    with pytest.raises(ValueError, match="already in deploy form for target 'onnx'; build "
                                         "another from the checkpoint for target 'eager'"):
        model.switch_to_deploy(target='eager')
    with pytest.raises(ValueError, match='already in deploy form with kernel=False'):
        model.switch_to_deploy(kernel=True)


def test_a_state_dict_loaded_into_the_deploy_form_serves_every_target():
    """The fuse layers' summed biases follow a state dict loaded into the deploy form."""
    first, second = (randomize(LiteHRNet(arch='18'), seed).eval() for seed in (1, 2))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = second(x)[0]
    for target in ('eager', 'onnx'):
        a, b = copy.deepcopy(first), copy.deepcopy(second)
        a.switch_to_deploy(target=target)
        b.switch_to_deploy(target=target)
        a.load_state_dict(b.state_dict())
        with torch.no_grad():
            assert_close(a(x)[0], expected, rel=1e-4)


def test_every_layer_runs_the_chosen_target():
    """The eager target calls oneDNN (private ops, :mod:`litehrnet_mm.deploy.onednn`); a form
    made for the portable target, and the ONNX targets set for a trace, call only public
    convolutions; the OpenVINO target writes the shuffle without stack."""
    source = randomize(LiteHRNet(arch='18')).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = source(x)[0]
    eager, portable = copy.deepcopy(source), copy.deepcopy(source)
    eager.switch_to_deploy()
    portable.switch_to_deploy(target='onnx')
    eager_ops = _ops(eager, x)
    assert 'mkldnn::_convolution_pointwise' in eager_ops
    ops = _ops(portable, x)
    private = {'mkldnn::_convolution_pointwise', 'litehrnet_mm::depthwise3x3'}
    assert not private & ops
    assert 'aten::stack' in ops  # ONNX Runtime's shuffle
    with deploy_target(eager, 'openvino'):
        ops = _ops(eager, x)
        with torch.no_grad():
            assert_close(eager(x)[0], expected)
    assert not private & ops and 'aten::stack' not in ops
    with torch.no_grad():
        assert_close(portable(x)[0], expected)
    with pytest.raises(ValueError, match='deploy target must be one of'):
        LiteHRNet(arch='18').eval().switch_to_deploy(target='cuda')
    if not depthwise_kernel():
        pytest.skip('the depthwise kernel cannot be built here (see its warning)')
    assert 'litehrnet_mm::depthwise3x3' in eager_ops


def test_the_kernel_switch_is_read_when_the_form_is_made(monkeypatch):
    """``LITEHRNET_MM_KERNELS`` decides, when the deploy form is made, which depthwise layers
    use the hand-written kernel; the form keeps it whatever the variable says later."""
    from litehrnet_mm.deploy import FoldedConv
    monkeypatch.setenv('LITEHRNET_MM_KERNELS', '0')
    off = LiteHRNet(arch='18').eval()
    off.switch_to_deploy()
    monkeypatch.setenv('LITEHRNET_MM_KERNELS', '1')
    on = LiteHRNet(arch='18').eval()
    on.switch_to_deploy()
    monkeypatch.setenv('LITEHRNET_MM_KERNELS', '0')
    depthwise = lambda m: [c for c in m.modules()  # noqa: E731
                           if isinstance(c, FoldedConv) and c.depthwise3x3]
    assert len(depthwise(on)) == len(depthwise(off)) == 96
    assert all(c.kernel for c in depthwise(on)) and not any(c.kernel for c in depthwise(off))
    explicit = LiteHRNet(arch='18').eval()
    explicit.switch_to_deploy(kernel=True)
    assert all(c.kernel for c in depthwise(explicit))


def test_weights_written_through_data_are_seen():
    """A write through ``.data`` (an EMA swap) bumps no version counter: the form checks the
    weights' content and derives its packed weights, taps and summed biases again."""
    first, second = (randomize(LiteHRNet(arch='18'), seed).eval() for seed in (3, 4))
    x = torch.randn(1, 3, 64, 64)
    for target in ('eager', 'onnx'):
        a, b = copy.deepcopy(first), copy.deepcopy(second)
        a.switch_to_deploy(target=target)
        b.switch_to_deploy(target=target)
        with torch.no_grad():
            a(x)  # derives from the first weights
            expected = b(x)[0]
            for mine, theirs in zip(a.parameters(), b.parameters()):
                mine.data.copy_(theirs.data)
            assert_close(a(x)[0], expected, rel=1e-4)
