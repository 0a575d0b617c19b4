"""Our LiteHRNet against MMPose's, the reference implementation: same keys, same numbers."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import ARCHS, assert_close, mmpose_litehrnet, randomized_pair

CASES = [(arch, head) for arch in ARCHS for head in (True, False)]


def pair(arch, with_head, **kwargs):
    return randomized_pair(arch, with_head, **kwargs)


@pytest.mark.parametrize('arch,with_head', CASES)
def test_state_dict_layout_is_mmposes(arch, with_head):
    ref = mmpose_litehrnet(arch, with_head).state_dict()
    ours = LiteHRNet(arch=arch, with_head=with_head).state_dict()
    assert list(ours) == list(ref)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}


@pytest.mark.parametrize('arch,with_head', CASES)
def test_eval_outputs_equal(arch, with_head):
    ref, ours = pair(arch, with_head)
    ref.eval()
    ours.eval()
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        expected, = ref(x)
        actual, = ours(x)
    assert expected.abs().mean() > 1e-2  # the comparison is not between near-zero maps
    assert_close(actual, expected)


@pytest.mark.parametrize('arch,with_head', CASES)
def test_train_step_equal(arch, with_head):
    """Outputs, every gradient and the BN statistics after a training forward (the fuse quirk
    runs one path twice, so its BN statistics are updated twice)."""
    ref, ours = pair(arch, with_head)
    ref.train()
    ours.train()
    x = torch.randn(2, 3, 64, 64)
    expected, = ref(x)
    actual, = ours(x)
    assert_close(actual, expected)
    w = torch.randn_like(expected)
    (expected * w).sum().backward()
    (actual * w).sum().backward()
    ref_params = dict(ref.named_parameters())
    connected = 0
    for name, p in ours.named_parameters():
        expected_grad = ref_params[name].grad
        if expected_grad is None:  # paths that do not reach output 0 (the last fuse rows)
            assert p.grad is None, name
        else:
            connected += 1
            assert_close(p.grad, expected_grad, rel=1e-3)
    assert connected > 0.9 * len(ref_params)
    ref_buffers = dict(ref.named_buffers())
    for name, b in ours.named_buffers():
        if b.dtype.is_floating_point:
            assert_close(b, ref_buffers[name])
        else:
            assert torch.equal(b, ref_buffers[name]), name


def test_large_input_equal():
    ref, ours = pair('30', True)
    ref.eval()
    ours.eval()
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        assert_close(ours(x)[0], ref(x)[0])


def _ops(model, x):
    """Names of the aten ops one forward runs (torch's profiler, no patching)."""
    with torch.no_grad(), torch.profiler.profile() as prof:
        model(x)
    return {e.key for e in prof.key_averages()}


def test_constant_pooling_is_used_when_sizes_divide():
    """At sizes divisible by 32 no size is read from tensors for pooling (export-clean); other
    sizes fall back to adaptive pooling, which is what MMPose computes."""
    model = LiteHRNet(arch='18').eval()
    assert 'aten::adaptive_avg_pool2d' not in _ops(model, torch.randn(1, 3, 64, 96))
    assert 'aten::adaptive_avg_pool2d' in _ops(model, torch.randn(1, 3, 64, 80))


def test_norm_layers_counted():
    """Sanity: the model has the BN layers the reference has (no layer silently dropped)."""
    ref = mmpose_litehrnet('18', True)
    ours = LiteHRNet(arch='18')
    count = lambda m: sum(isinstance(x, _BatchNorm) for x in m.modules())  # noqa: E731
    assert count(ours) == count(ref) > 0
