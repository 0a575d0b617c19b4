"""Whole-network checks beyond tests/models/test_parity_mmpose.py: MMPose's class at another
size it accepts, every output resolution against MMPose's (reached with forward hooks), values
at odd sizes, and the whole backbone under torch.compile."""
import pytest
import torch

from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import assert_close, randomize, randomized_pair


def test_mmposes_class_fails_at_250x190_where_ours_works():
    """Why odd sizes are checked on their own below: there is no reference for them."""
    ref, ours = randomized_pair('18', True)
    ref.eval()  # MMPose's train() returns None
    x = torch.randn(1, 3, 250, 190)
    with torch.no_grad():
        with pytest.raises(RuntimeError, match='size'):
            ref(x)
        assert torch.isfinite(ours.eval()(x)[0]).all()


def _mmpose_all_outputs(ref, x):
    """Every resolution MMPose's class computes (its forward returns the first only): the
    output of its IterativeHead, or of its last stage without the head."""
    last = ref.head_layer if ref.with_head else getattr(ref, f'stage{ref.num_stages - 1}')
    seen = {}
    handle = last.register_forward_hook(lambda module, args, out: seen.update(out=out))
    ref(x)
    handle.remove()
    return seen['out']


def _check_every_output(arch, with_head, training, size):
    ref, ours = randomized_pair(arch, with_head, out_indices=(0, 1, 2, 3))
    ref.train(training)
    ours.train(training)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        expected = _mmpose_all_outputs(ref, x)
        actual = ours(x)
    assert len(expected) == len(actual) == 4
    for i, (a, e, c) in enumerate(zip(actual, expected, ours.out_channels)):
        assert a.shape == e.shape and a.shape[1] == c, i
        assert e.abs().mean() > 1e-3, i
        assert_close(a, e)


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
@pytest.mark.parametrize('with_head', [False, True])
@pytest.mark.parametrize('training', [False, True])
def test_every_output_equals_mmposes(arch, with_head, training):
    """Outputs 1 to 3 too (what the segmentation configs use), in eval and in training mode."""
    _check_every_output(arch, with_head, training, (96, 64))


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_whole_network_equal_at_288x224(arch):
    """A size other than the tests' usual one that MMPose's class accepts."""
    _check_every_output(arch, True, False, (288, 224))


@pytest.mark.parametrize('h,w', [(250, 190), (97, 33), (33, 161)])
def test_odd_sizes_give_finite_deterministic_values(h, w):
    model = randomize(LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(2, 3, h, w)
    with torch.no_grad():
        first, again, alone = model(x), model(x), model(x[1:])
    for a, b, c in zip(first, again, alone):
        assert torch.isfinite(a).all() and a.std() > 1e-3
        assert torch.equal(a, b)  # the same input gives the same values
        assert_close(c[0], a[1])  # a sample does not depend on the rest of its batch
    model.train()
    sum(y.square().mean() for y in model(x)).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_whole_backbone_under_torch_compile(tiny_extra):
    """One graph (fullgraph: no breaks) for the whole training form, compiled with the
    default backend (inductor), equal to eager. (A quarter of Lite-HRNet-18, every kind of
    block: the compile time grows with the graph.)"""
    torch._dynamo.reset()
    model = randomize(LiteHRNet(tiny_extra, out_indices=(0, 1, 2, 3))).eval()
    compiled = torch.compile(model, fullgraph=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected, actual = model(x), compiled(x)
    for a, e in zip(actual, expected):
        assert_close(a, e)
