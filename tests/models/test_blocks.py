"""Each building block on its own: against MMPose's block with the same weights where MMPose has
one, and against its definition where MMPose inlines it (transitions, fuse layers)."""
import pytest
import torch
import torch.nn.functional as F
from mmpose.models.backbones import litehrnet as mmpose_litehrnet

from litehrnet_mm.models.blocks import (ConditionalChannelWeighting, CrossResolutionWeighting,
                                        FuseLayers, IterativeHead, LiteHRModule, ShuffleUnit,
                                        SpatialWeighting, Stem, Transition, channel_shuffle)
from litehrnet_mm.testing import WIDTHS, assert_close, branches, randomize


def same_weights(ref, ours):
    randomize(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref.eval(), ours.eval()


def test_channel_shuffle_interleaves():
    x = torch.arange(6.).reshape(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_stem():
    ref, ours = same_weights(mmpose_litehrnet.Stem(3, 32, 32, 1),
                             Stem(3, 32, 32, 1))
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        y = ours(x)
        assert y.shape == (2, 32, 16, 12)
        assert_close(y, ref(x))


def test_shuffle_unit():
    ref, ours = same_weights(mmpose_litehrnet.ShuffleUnit(40, 40), ShuffleUnit(40))
    x = torch.randn(2, 40, 16, 12)
    with torch.no_grad():
        y = ours(x)
        assert_close(y, ref(x))
    # the first half passes unchanged, to the even channels after the shuffle
    assert torch.equal(y[:, 0::2], x[:, :20])


def test_spatial_weighting():
    ref, ours = same_weights(mmpose_litehrnet.SpatialWeighting(40, ratio=4),
                             SpatialWeighting(40))
    x = torch.randn(2, 40, 8, 6)
    with torch.no_grad():
        assert_close(ours(x), ref(x))


@pytest.mark.parametrize('size', [(32, 24), (31, 23)])
def test_cross_resolution_weighting(size):
    halves = [c // 2 for c in WIDTHS]
    ref, ours = same_weights(
        mmpose_litehrnet.CrossResolutionWeighting(halves, ratio=8, norm_cfg=dict(type='BN')),
        CrossResolutionWeighting(halves, reduce_ratio=8, norm_cfg=dict(type='BN')))
    xs = branches(halves, *size)
    with torch.no_grad():
        for a, b in zip(ours(xs), ref(xs)):
            assert_close(a, b)


@pytest.mark.parametrize('n', [2, 3, 4])
def test_conditional_channel_weighting(n):
    ref, ours = same_weights(
        mmpose_litehrnet.ConditionalChannelWeighting(list(WIDTHS[:n]), 1, 8),
        ConditionalChannelWeighting(WIDTHS[:n], reduce_ratio=8))
    xs = branches(WIDTHS[:n])
    with torch.no_grad():
        for a, b, x in zip(ours(xs), ref(xs), xs):
            assert a.shape == x.shape
            assert_close(a, b)


def test_transition_keeps_adapts_and_adds_branches():
    t = randomize(Transition([32], [40, 80])).eval()
    assert isinstance(t[0], torch.nn.Sequential) and len(t[0]) == 5  # 32 -> 40, stride 1
    x = torch.randn(2, 32, 16, 12)
    with torch.no_grad():
        a, b = t([x])
    assert a.shape == (2, 40, 16, 12) and b.shape == (2, 80, 8, 6)
    assert_close(a, t[0](x))
    t = randomize(Transition([40, 80], [40, 80, 160])).eval()
    assert isinstance(t[0], torch.nn.Identity) and isinstance(t[1], torch.nn.Identity)
    assert not [k for k in t.state_dict() if k.startswith(('0.', '1.'))]
    xs = branches([40, 80], 16, 12)
    with torch.no_grad():
        out = t(xs)
    assert out[0] is xs[0] and out[1] is xs[1]
    assert out[2].shape == (2, 160, 4, 3)
    # the new branch is made from the last existing one
    with torch.no_grad():
        assert_close(out[2], t[2](xs[1]))


@pytest.mark.parametrize('n', [2, 3, 4])
def test_fuse_layers_reproduce_the_reference_quirk(n):
    """In eval, output 0 counts branch 0 twice and later outputs read that doubled sum
    through their branch-0 path, itself counted twice; the clean HRNet sum differs."""
    fuse = randomize(FuseLayers(WIDTHS[:n])).eval()
    xs = branches(WIDTHS[:n])
    sizes = [x.shape[-2:] for x in xs]
    with torch.no_grad():
        out = fuse(xs)
        z0 = 2 * xs[0] + sum(fuse[0][j](xs[j], sizes[0]) for j in range(1, n))
        expected = [F.relu(z0)]
        clean = [F.relu(xs[0] + sum(fuse[0][j](xs[j], sizes[0]) for j in range(1, n)))]
        for i in range(1, n):
            others = sum(xs[j] if j == i else fuse[i][j](xs[j], sizes[i]) for j in range(1, n))
            expected.append(F.relu(2 * fuse[i][0](z0, sizes[i]) + others))
            clean.append(F.relu(fuse[i][0](xs[0], sizes[i]) + others))
    for a, b, c in zip(out, expected, clean):
        assert_close(a, b)
        assert not torch.allclose(a, c, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize('block', ['LITE', 'NAIVE'])
@pytest.mark.parametrize('training', [False, True])
def test_hr_module(block, training):
    """A whole module (blocks and fuse, the quirk in training too) equals MMPose's."""
    widths = list(WIDTHS[:3])
    ref, ours = same_weights(
        mmpose_litehrnet.LiteHRModule(3, 2, widths, 8, block, multiscale_output=True),
        LiteHRModule(widths, 2, 8, block))
    ref.train(training)
    ours.train(training)
    xs = branches(widths)
    with torch.set_grad_enabled(training):
        out, expected = ours([x.clone() for x in xs]), ref([x.clone() for x in xs])
    for a, b in zip(out, expected):
        assert_close(a.detach(), b.detach())
    for (name, a), b in zip(ours.named_buffers(), ref.buffers()):
        if a.dtype.is_floating_point:
            assert_close(a, b)


def test_iterative_head():
    ref, ours = same_weights(mmpose_litehrnet.IterativeHead(list(WIDTHS)),
                             IterativeHead(WIDTHS))
    assert ours.in_channels == list(WIDTHS)  # stored as given: highest resolution first
    assert ours.out_channels == [40, 40, 80, 160]
    xs = branches(WIDTHS)
    with torch.no_grad():
        out = ours(xs)
        for a, b, c in zip(out, ref(xs), ours.out_channels):
            assert a.shape[1] == c
            assert_close(a, b)
