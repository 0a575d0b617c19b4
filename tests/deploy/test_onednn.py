"""litehrnet_mm.deploy.onednn: oneDNN's private operators behind one adapter, equal to the
public convolution, checked once per process (with real tensors, also when first asked inside
a trace), with the portable form where they fail."""
import warnings

import pytest
import torch
import torch.nn.functional as F

from litehrnet_mm.deploy import default_target, onednn
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import assert_close, randomize


def channels_last(t):
    return t.contiguous(memory_format=torch.channels_last)


@pytest.fixture
def fresh_check():
    """The once-per-process check forgotten before and after the test."""
    onednn.unavailable_reason.cache_clear()
    onednn.available.cache_clear()
    yield
    onednn.unavailable_reason.cache_clear()
    onednn.available.cache_clear()


def test_the_operators_are_usable_on_this_torch():
    assert onednn.unavailable_reason() is None, onednn.unavailable_reason()
    assert onednn.available() and default_target() == 'eager'


@pytest.mark.parametrize('channels,groups,stride,act', [
    (8, 1, 1, None), (8, 1, 2, 'relu'), (16, 16, 1, None), (16, 16, 2, 'relu'),
    (12, 4, 1, 'sigmoid')])
def test_conv_equals_the_public_convolution(channels, groups, stride, act):
    g = torch.Generator().manual_seed(channels + groups + stride)
    x = channels_last(torch.randn(2, channels, 11, 9, generator=g))
    weight = torch.randn(channels, channels // groups, 3, 3, generator=g)
    bias = torch.randn(channels, generator=g)
    packed = onednn.pack_weight(weight, 1, stride, groups, x.shape)
    expected = F.conv2d(x, weight, bias, stride, 1, 1, groups)
    expected = {None: expected, 'relu': expected.relu(), 'sigmoid': expected.sigmoid()}[act]
    assert_close(onednn.conv(x, packed, bias, 1, stride, groups, act), expected, rel=1e-5)


def test_a_failing_check_warns_once_and_the_deploy_form_stays_exact(fresh_check, monkeypatch):
    """An operator that changed in a torch upgrade: one warning naming it and torch's
    version; new deploy forms are made for the portable target, with the same outputs."""
    def renamed():
        raise RuntimeError('No such operator mkldnn::_convolution_pointwise')
    monkeypatch.setattr(onednn, '_check_calls', renamed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert not onednn.available()
        assert not onednn.available()
        assert default_target() == 'onnx'
    messages = [str(w.message) for w in caught if 'oneDNN' in str(w.message)]
    assert len(messages) == 1, messages
    assert 'No such operator' in messages[0] and torch.__version__ in messages[0]
    model = randomize(LiteHRNet(arch='18')).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]
        model.switch_to_deploy()
        assert model.deploy_form.target == 'onnx'
        with torch.profiler.profile() as prof:
            out = model(x)[0]
    assert 'mkldnn::_convolution_pointwise' not in {e.key for e in prof.key_averages()}
    assert_close(out, expected)


def test_a_torch_older_than_the_adapter_is_named(fresh_check, monkeypatch):
    monkeypatch.setattr(onednn, '_torch_version', lambda: (2, 0))
    assert 'is older than 2.1' in onednn.unavailable_reason()


def test_the_check_runs_on_real_tensors_inside_a_trace(fresh_check):
    """First asked while torch makes fake tensors (a deploy=True backbone switching inside a
    trace): the check still compares real outputs, and its answer holds after the trace."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        assert onednn.unavailable_reason() is None
    assert onednn.available()
