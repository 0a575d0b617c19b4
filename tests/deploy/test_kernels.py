"""The hand-written kernels (``litehrnet_mm/deploy/csrc``): the depthwise 3x3 convolution equal
to a convolution on every shape it takes, the fused conditional channel weighting block equal
to the training block, the weights' fingerprint equal to its formula; each refusing what it
does not take, used by every form of the deploy model that runs on channels-last tensors, and
optional."""
import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from litehrnet_mm.deploy import kernels
from litehrnet_mm.deploy.layers import FoldedConv
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import assert_close, randomize

OP = 'litehrnet_mm::depthwise3x3'
FUSED = 'litehrnet_mm::ccw_block'

needs_kernel = pytest.mark.skipif(not kernels.depthwise_kernel(),
                                  reason='the kernel cannot be built here (see the warning)')


def channels_last(t):
    return t.contiguous(memory_format=torch.channels_last)


def reference(x, weight, bias, stride, relu):
    y = F.conv2d(x, weight, bias, stride, 1, 1, x.shape[1])
    return y.relu() if relu else y


def taps(weight):
    return weight.reshape(weight.shape[0], 9).t().contiguous()


@needs_kernel
@pytest.mark.parametrize('channels', [1, 3, 16, 20, 24, 40, 80, 160])
@pytest.mark.parametrize('size', [(1, 1), (1, 5), (3, 2), (2, 3), (7, 5), (64, 48), (9, 30)])
@pytest.mark.parametrize('stride', [1, 2])
def test_kernel_equals_a_depthwise_convolution(channels, size, stride):
    """Sizes with and without the grouped pixels (20 and 24 channels take P = 4 and 2 pixels at
    a time; 30 columns leave a remainder), a batch of 2, with and without ReLU."""
    g = torch.Generator().manual_seed(channels * 100 + size[1])
    x = channels_last(torch.randn(2, channels, *size, generator=g))
    weight = torch.randn(channels, 1, 3, 3, generator=g)
    bias = torch.randn(channels, generator=g)
    for relu in (False, True):
        y = torch.ops.litehrnet_mm.depthwise3x3(x, taps(weight), bias, stride, relu)
        expected = reference(x, weight, bias, stride, relu)
        assert y.shape == expected.shape
        assert y.is_contiguous(memory_format=torch.channels_last)
        assert_close(y, expected, rel=1e-5)


@needs_kernel
@pytest.mark.parametrize('channels,size,factor', [
    (20, (64, 48), 8), (40, (32, 24), 4), (80, (16, 12), 2), (160, (8, 6), 1), (24, (6, 10), 2),
    (3, (4, 4), 4)])
def test_kernel_weights_its_input_by_an_upsampled_scale(channels, size, factor):
    """``conv(x * upsample_nearest(scale))``: the cross-resolution weighting's multiply, with
    the scale a channel slice of a channels-last tensor as the deploy form passes it."""
    g = torch.Generator().manual_seed(channels)
    x = channels_last(torch.randn(2, channels, *size, generator=g))
    cells = (size[0] // factor, size[1] // factor)
    scale = channels_last(torch.rand(2, channels + 5, *cells, generator=g))[:, 5:]
    weight, bias = torch.randn(channels, 1, 3, 3, generator=g), torch.randn(channels, generator=g)
    upsampled = F.interpolate(scale, scale_factor=factor, mode='nearest')
    wide = channels_last(torch.randn(2, 2 * channels, *size, generator=g))
    for x in (x, wide[:, channels:]):  # and x a channel slice, its pixels 2C floats apart
        for stride, relu in ((1, False), (2, False), (1, True)):
            y = torch.ops.litehrnet_mm.depthwise3x3(x, taps(weight), bias, stride, relu, scale,
                                                    factor)
            assert_close(y, reference(x * upsampled, weight, bias, stride, relu), rel=1e-5)
    with pytest.raises(RuntimeError, match=r'scale must be a float32 \(2, .* for factor 3'):
        torch.ops.litehrnet_mm.depthwise3x3(x, taps(weight), bias, 1, False, scale, 3)


@needs_kernel
def test_kernel_reads_a_channel_slice():
    """A half of a channels-last tensor (the deploy form's split): channels innermost, pixels
    further apart than the channel count."""
    x = channels_last(torch.randn(1, 40, 16, 12))[:, 20:]
    weight, bias = torch.randn(20, 1, 3, 3), torch.randn(20)
    for stride in (1, 2):
        y = torch.ops.litehrnet_mm.depthwise3x3(x, taps(weight), bias, stride, False)
        assert_close(y, reference(x, weight, bias, stride, False), rel=1e-5)


@needs_kernel
def test_kernel_shape_function_matches_the_kernel():
    """The fake implementation (what torch.compile and torch.export trace with) gives the
    real output's shape and strides, with and without the scale, on a channel slice too."""
    x = channels_last(torch.randn(2, 40, 9, 6))
    weight, bias = torch.randn(9, 20), torch.randn(20)
    scale = channels_last(torch.rand(2, 20, 3, 2))
    for args in ((x[:, 20:], weight, bias, 2, False), (x[:, :20], weight, bias, 1, True),
                 (x[:, 20:], weight, bias, 1, False, scale, 3)):
        torch.library.opcheck(torch.ops.litehrnet_mm.depthwise3x3.default, args,
                              test_utils=('test_schema', 'test_faketensor'))


@needs_kernel
@pytest.mark.parametrize('x,tap,stride,message', [
    (torch.randn(1, 8, 5, 5), torch.randn(9, 8), 1, 'channels innermost'),
    (channels_last(torch.randn(1, 8, 5, 5)).double(), torch.randn(9, 8), 1, 'float32'),
    (channels_last(torch.randn(1, 8, 5, 5)), torch.randn(8, 9), 1, r'taps must be .*\(9, 8\)'),
    (channels_last(torch.randn(1, 8, 5, 5)), torch.randn(9, 8), 3, 'stride must be 1 or 2'),
])
def test_kernel_refuses_what_it_does_not_take(x, tap, stride, message):
    with pytest.raises(RuntimeError, match=message):
        torch.ops.litehrnet_mm.depthwise3x3(x, tap, torch.randn(8), stride, False)


def _depthwise_convs(model):
    return sum(isinstance(m, FoldedConv) and m.depthwise3x3 for m in model.modules())


def _kernel_calls(fn):
    """Calls of the depthwise kernel, and of the fused block (each runs the depthwise
    convolutions of its branches inside: ``fused_depthwise`` of them in all), and ``fn()``."""
    with torch.no_grad(), torch.profiler.profile() as prof:
        out = fn()
    counts = {e.key: e.count for e in prof.key_averages()}
    return counts.get(OP, 0), counts.get(FUSED, 0), out


@needs_kernel
def test_eager_deploy_form_runs_every_depthwise_conv_in_the_kernel(monkeypatch):
    source = randomize(LiteHRNet(arch='18')).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = source(x)[0]
    model, onednn = copy.deepcopy(source), copy.deepcopy(source)
    model.switch_to_deploy()
    count = _depthwise_convs(model)
    assert count == 96  # Lite-HRNet-18: 48 in the blocks, 48 in stem, transitions and fuses
    calls, fused, out = _kernel_calls(lambda: model(x)[0])
    assert (calls, fused) == (48, 16)  # the 16 blocks are one call each
    assert_close(out, expected, rel=1e-4)
    monkeypatch.setenv(kernels.ENV_SWITCH, '0')  # a form made now: oneDNN, the same outputs
    onednn.switch_to_deploy()
    calls, fused, out = _kernel_calls(lambda: onednn(x)[0])
    assert (calls, fused) == (0, 0)
    assert_close(out, expected, rel=1e-4)
    calls, fused, _ = _kernel_calls(lambda: model(x)[0])  # the first form keeps its kernels
    assert (calls, fused) == (48, 16)
    monkeypatch.setenv(kernels.ENV_SWITCH, 'maybe')
    with pytest.raises(ValueError, match="LITEHRNET_MM_KERNELS must be one of 1, true, yes, on "
                                         r"\(the default\) or 0, false, no, off or empty "
                                         r"\(oneDNN only\), got 'maybe'"):
        copy.deepcopy(source).switch_to_deploy()


@pytest.mark.parametrize('value,on', [
    ('1', True), ('true', True), ('Yes', True), (' on ', True), ('0', False), ('false', False),
    ('NO', False), ('off', False), ('', False)])
def test_the_switch_takes_the_usual_words(value, on, monkeypatch):
    monkeypatch.setenv(kernels.ENV_SWITCH, value)
    assert kernels.kernels_enabled() is on
    monkeypatch.delenv(kernels.ENV_SWITCH)
    assert kernels.kernels_enabled()  # on by default


_FAILED_BUILD = """
import warnings, torch
from litehrnet_mm.deploy import kernels
from litehrnet_mm.models import LiteHRNet

class NoCompiler:
    @staticmethod
    def _get_build_directory(name, verbose):
        import tempfile
        return tempfile.mkdtemp()

    @staticmethod
    def load(**kwargs):
        raise RuntimeError("Error building extension: x.cpp:1: error: g++: not found")

kernels._cpp_extension = lambda: NoCompiler
model = LiteHRNet(arch='18').eval()
x = torch.randn(1, 3, 64, 64)
with torch.no_grad():
    expected = model(x)[0]
    model.switch_to_deploy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = model(x)[0]
        model(x)
messages = [str(w.message) for w in caught if 'depthwise 3x3 kernel' in str(w.message)]
assert len(messages) == 1, messages  # once, not per call
print(messages[0])
assert not hasattr(torch.ops.litehrnet_mm, 'depthwise3x3')
assert (out - expected).abs().max() <= 1e-4 * expected.abs().max(), 'outputs differ'
print('fell back')
"""


def test_a_failed_build_warns_once_and_keeps_onednn(repo_root):
    """A fresh process where the build fails (no compiler): one warning that names the error
    and the fix, then oneDNN convolutions with the same outputs."""
    done = subprocess.run([sys.executable, '-c', _FAILED_BUILD], cwd=repo_root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    warning, result = done.stdout.strip().splitlines()[-2:]
    assert 'error: g++: not found' in warning and 'LITEHRNET_MM_KERNELS=0' in warning
    assert result == 'fell back'


# the build's lock: processes take turns, a killed builder blocks no one, a wait has an end

_HOLD_THE_LOCK = """
import os, signal, sys, time
from litehrnet_mm.deploy import kernels
from litehrnet_mm.fileio import file_lock
folder = kernels._cpp_extension()._get_build_directory(
    f'litehrnet_mm_kernels_{kernels._isa().lower()}', verbose=False)
with file_lock(os.path.join(folder, 'litehrnet_mm.lock')):
    print('holding', flush=True)
    if sys.argv[1] == 'die':
        os.kill(os.getpid(), signal.SIGKILL)  # as a builder killed mid-build
    time.sleep(float(sys.argv[1]))
"""

_USE_THE_KERNEL = """
import time, warnings
start = time.monotonic()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    from litehrnet_mm.deploy import kernels
    print(kernels.depthwise_kernel(), round(time.monotonic() - start))
for w in caught:
    if 'depthwise 3x3 kernel' in str(w.message):
        print(w.message)
"""


def _python(code, *args, env=None, timeout=300, **kwargs):
    import os
    return subprocess.Popen([sys.executable, '-c', code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})), **kwargs)


@needs_kernel
def test_a_build_that_waits_too_long_falls_back_to_onednn(repo_root):
    holder = _python(_HOLD_THE_LOCK, '30', cwd=repo_root)
    try:
        assert holder.stdout.readline().strip() == 'holding'
        user = _python(_USE_THE_KERNEL, env={'LITEHRNET_MM_KERNEL_LOCK_TIMEOUT': '1'},
                       cwd=repo_root)
        out, err = user.communicate(timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert user.returncode == 0, err[-3000:]
    first, warning = out.strip().splitlines()[:2]
    assert first.split()[0] == 'False'
    assert 'litehrnet_mm.lock stayed locked by another process for 1 s' in warning
    assert 'uses oneDNN convolutions instead' in warning


@needs_kernel
def test_a_builder_killed_while_it_holds_the_lock_blocks_no_one(repo_root):
    holder = _python(_HOLD_THE_LOCK, 'die', cwd=repo_root)
    assert holder.stdout.readline().strip() == 'holding'
    holder.wait(timeout=60)
    assert holder.returncode == -9
    user = _python(_USE_THE_KERNEL, env={'LITEHRNET_MM_KERNEL_LOCK_TIMEOUT': '60'},
                   cwd=repo_root)
    out, err = user.communicate(timeout=300)
    assert user.returncode == 0, err[-3000:]
    available, seconds = out.split()[:2]
    assert available == 'True' and int(seconds) < 60


def _fingerprint_reference(t: torch.Tensor) -> int:
    """``csrc/fingerprint.cpp``'s formula in NumPy: the bytes as little-endian 32-bit words
    (the last 1 to 3 bytes zero-padded), a = sum w_i (2i+1), b = sum rot16(w_i) (2i+1) K
    modulo 2^32, a xor (bytes * K); a in the high half."""
    import numpy as np
    raw = t.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
    nbytes = len(raw)
    if nbytes == 0:
        return 0
    words = np.frombuffer(raw + b'\0' * (-nbytes % 4), dtype='<u4').astype(np.uint64)
    mask, k = np.uint64(0xFFFFFFFF), np.uint64(0x9E3779B1)
    m = (2 * np.arange(len(words), dtype=np.uint64) + 1) & mask
    rot = ((words << np.uint64(16)) | (words >> np.uint64(16))) & mask
    a = int(np.sum((words * m) & mask) & mask) if len(words) else 0
    b = int(np.sum((rot * ((m * k) & mask)) & mask) & mask) if len(words) else 0
    a = (a & 0xFFFFFFFF) ^ ((nbytes * 0x9E3779B1) & 0xFFFFFFFF)
    value = (a << 32) | (b & 0xFFFFFFFF)
    return value - (1 << 64) if value >= 1 << 63 else value


def _mixed_tensors(seed: int):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(160, 160, 1, 1, generator=g), torch.randn(20, generator=g),
            torch.randn(3, generator=g).half(),
            torch.randint(0, 9, (5, ), generator=g, dtype=torch.int8),
            torch.tensor(7), torch.randn(7, 9, generator=g).t(),  # not contiguous
            torch.randn(2, 40, 8, 6, generator=g).double(), torch.empty(0)]


@needs_kernel
def test_fingerprint_follows_its_formula_whatever_the_threads():
    """One 64-bit number per tensor, of any dtype, size (odd byte counts) and strides, equal
    to the formula computed in NumPy, with one thread and with two."""
    tensors = _mixed_tensors(0)
    expected = [_fingerprint_reference(t) for t in tensors]
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            got = torch.ops.litehrnet_mm.fingerprint(tensors)
            assert got.dtype == torch.long and got.tolist() == expected
    finally:
        torch.set_num_threads(threads)
    torch.library.opcheck(torch.ops.litehrnet_mm.fingerprint.default, (tensors, ),
                          test_utils=('test_schema', 'test_faketensor'))


@needs_kernel
def test_fingerprint_changes_with_any_value_and_only_there():
    """A change of one value (the smallest a float takes), an exchange of two values, or a
    size that grew by a zero changes that tensor's fingerprint and no other's; equal
    contents in other tensors give equal fingerprints."""
    tensors = _mixed_tensors(1)
    before = kernels.fingerprint(tensors)
    assert torch.equal(kernels.fingerprint([t.clone() for t in tensors]), before)
    ints = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    for i, t in enumerate(tensors[:-1]):
        changed = [u.clone() for u in tensors]
        changed[i].view(ints[t.element_size()])[(0, ) * t.dim()] += 1  # the last bit
        after = kernels.fingerprint(changed)
        assert after[i] != before[i], i
        assert torch.equal(torch.cat([after[:i], after[i + 1:]]),
                           torch.cat([before[:i], before[i + 1:]]))
    swapped = tensors[1].clone()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert kernels.fingerprint([swapped])[0] != before[1]
    grown = torch.cat([tensors[1], torch.zeros(1)])
    assert kernels.fingerprint([grown])[0] != before[1]


def test_fingerprint_without_the_kernel_is_the_norms(monkeypatch):
    """Switched off, the weights are checked by their norms (one per floating-point
    tensor)."""
    from litehrnet_mm.stamps import content_stamp
    monkeypatch.setenv(kernels.ENV_SWITCH, '0')
    tensors = _mixed_tensors(2)
    assert torch.equal(kernels.fingerprint(tensors), content_stamp(tensors))
    assert kernels.fingerprint([]) is None


def _ccw_pair(channels, reduce_ratio, seed):
    """A conditional channel weighting block with non-trivial weights (eval mode), and its
    deploy form made with the kernels."""
    from litehrnet_mm.deploy.modules import DeployConditionalChannelWeighting
    from litehrnet_mm.models.blocks import ConditionalChannelWeighting
    block = randomize(ConditionalChannelWeighting(channels, reduce_ratio), seed).eval()
    return block, DeployConditionalChannelWeighting(block, kernel=True).eval()


def _fused_weights(fused):
    """The fused kernel's arguments after the branches, from a deploy block."""
    dws = fused.depthwise_convs
    return (fused.crw1.weight, fused.crw1.bias, fused.crw2.weight, fused.crw2.bias,
            [dw.weight for dw in dws], [dw.bias for dw in dws], fused.se1.weight,
            fused.se1.bias, fused.se2.weight, fused.se2.bias)


def _ccw_calls(fn):
    _, fused, out = _kernel_calls(fn)
    return fused, out


@needs_kernel
@pytest.mark.parametrize('channels,size,ratio', [
    ((40, ), (8, 6), 8), ((40, 80), (32, 24), 8), ((40, 80, 160), (64, 48), 8),
    ((40, 80, 160, 320), (64, 48), 8), ((20, 44), (6, 10), 2), ((8, 24, 36), (12, 4), 4),
    ((40, 80, 160, 320), (128, 256), 8)])
def test_fused_block_equals_the_training_block(channels, size, ratio):
    """Branch counts 1 to 4 at Lite-HRNet-18's widths and at odd ones (halves of 4 to 22
    channels, which no vector fills), the segmentation model's sizes, a batch of 2:
    ``litehrnet_mm::ccw_block`` equals the training block (eval mode); the deploy block
    calls it once where its weighting is within the limit, else runs unfused, with the
    same outputs."""
    from litehrnet_mm.deploy.modules import FUSED_WEIGHTING_LIMIT
    block, fused = _ccw_pair(channels, ratio, seed=len(channels))
    g = torch.Generator().manual_seed(sum(channels))
    x = [torch.randn(2, c, size[0] >> i, size[1] >> i, generator=g)
         for i, c in enumerate(channels)]
    with torch.no_grad():
        expected = block([t.clone() for t in x])
        got = torch.ops.litehrnet_mm.ccw_block(
            [channels_last(t) for t in x], *_fused_weights(fused))
    for a, b in zip(got, expected):
        assert a.is_contiguous(memory_format=torch.channels_last)
        assert_close(a, b, rel=1e-5)
    # the module calls it where the weighting is within the limit (segmentation: not)
    within = (size[0] >> len(channels) - 1) * (size[1] >> len(channels) - 1) * sum(
        channels) // 2 <= FUSED_WEIGHTING_LIMIT
    calls, got = _ccw_calls(lambda: fused([channels_last(t) for t in x], 'eager'))
    assert calls == int(within)
    for a, b in zip(got, expected):
        assert_close(a, b, rel=1e-5)
    fused.fuse = False  # the unfused form: same outputs, no call of the fused kernel
    calls, unfused = _ccw_calls(lambda: fused([channels_last(t) for t in x], 'eager'))
    assert calls == 0
    for a, b in zip(unfused, expected):
        assert_close(a, b, rel=1e-5)


@needs_kernel
def test_fused_block_shape_function_and_schema():
    """The fake implementation gives the kernel's shapes and strides (what torch.compile and
    torch.export trace with), on inputs that are channel slices too."""
    block, fused = _ccw_pair((40, 80), 8, seed=3)
    x = [channels_last(torch.randn(1, 40, 16, 12)), channels_last(torch.randn(1, 80, 8, 6))]
    dws = fused.depthwise_convs
    args = (x, fused.crw1.weight, fused.crw1.bias, fused.crw2.weight, fused.crw2.bias,
            [dw.weight for dw in dws], [dw.bias for dw in dws], fused.se1.weight,
            fused.se1.bias, fused.se2.weight, fused.se2.bias)
    torch.library.opcheck(torch.ops.litehrnet_mm.ccw_block.default, args,
                          test_utils=('test_schema', 'test_faketensor'))
    sliced = [channels_last(torch.randn(1, 60, 16, 12))[:, 10:50], x[1]]
    with torch.no_grad():
        assert_close(torch.ops.litehrnet_mm.ccw_block(sliced, *args[1:])[0],
                     block([sliced[0].contiguous(), x[1].contiguous()])[0], rel=1e-5)


@needs_kernel
@pytest.mark.parametrize('index,value,message', [
    (0, lambda t: t.contiguous(), 'channels-last'),
    (0, lambda t: t[:, :, :, :-1], 'times the last branch'),
    (0, lambda t: t.double(), 'float32'),
    (1, lambda t: t[:, :79], 'even C'),
])
def test_fused_block_refuses_what_it_does_not_take(index, value, message):
    _, fused = _ccw_pair((40, 80), 8, seed=4)
    x = [channels_last(torch.randn(1, 40, 16, 12)), channels_last(torch.randn(1, 80, 8, 6))]
    x[index] = value(x[index])
    dws = fused.depthwise_convs
    with pytest.raises(RuntimeError, match=message):
        torch.ops.litehrnet_mm.ccw_block(
            x, fused.crw1.weight, fused.crw1.bias, fused.crw2.weight, fused.crw2.bias,
            [dw.weight for dw in dws], [dw.bias for dw in dws], fused.se1.weight,
            fused.se1.bias, fused.se2.weight, fused.se2.bias)


@needs_kernel
def test_sizes_that_are_not_exact_multiples_run_unfused():
    """An input size the branches do not halve exactly (rounded up on the way down) takes the
    adaptive pooling of the unfused form, with the training form's outputs."""
    block, fused = _ccw_pair((40, 80), 8, seed=5)
    x = [torch.randn(1, 40, 15, 11), torch.randn(1, 80, 8, 6)]
    with torch.no_grad():
        expected = block([t.clone() for t in x])
    calls, got = _ccw_calls(lambda: fused([channels_last(t) for t in x], 'eager'))
    assert calls == 0
    for a, b in zip(got, expected):
        assert_close(a, b, rel=1e-5)
