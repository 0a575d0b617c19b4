"""Behaviour of LiteHRNet's options: shapes, counts, gradients, with_cp, freezing, bad input."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.models.backbones import arch_to_extra
from litehrnet_mm.testing import ARCHS, assert_close, mmpose_litehrnet, randomize

# Published parameter counts (facts sheet; the paper's Table and the authors' code). The naive
# variants' published figures include the IterativeHead (their published models use it).
PUBLISHED_PARAMS = {
    ('18', True): 1_130_072,
    ('30', True): 1_763_020,
    ('18', False): 1_054_032,
    ('30', False): 1_686_980,
    ('naive-18', True): 759_838,
    ('wider-naive-18', True): 1_317_928,
}


@pytest.mark.parametrize('arch,with_head', sorted(PUBLISHED_PARAMS))
def test_parameter_count_is_published(arch, with_head):
    model = LiteHRNet(arch=arch, with_head=with_head)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[arch, with_head]


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('with_head', [True, False])
@pytest.mark.parametrize('out_indices', [(0, ), (0, 1, 2, 3), (3, 1)])
def test_output_channels_and_strides(arch, with_head, out_indices):
    model = LiteHRNet(arch=arch, with_head=with_head, out_indices=out_indices).eval()
    widths = list(arch_to_extra(arch)['stages_spec']['num_channels'][-1])
    if with_head:
        widths = [widths[0]] + widths[:-1]
    assert model.out_channels == [widths[i] for i in out_indices]
    assert model.out_strides == [4 * 2**i for i in out_indices]
    h, w = 128, 96
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    assert len(outs) == len(out_indices)
    for y, c, s in zip(outs, model.out_channels, model.out_strides):
        assert tuple(y.shape) == (1, c, h // s, w // s)
        assert torch.isfinite(y).all()


@pytest.mark.parametrize('h,w', [(250, 190), (97, 33), (256, 200)])
def test_odd_sizes(h, w):
    model = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    for i, y in enumerate(outs):
        eh, ew = h, w
        for _ in range(i + 2):
            eh, ew = (eh + 1) // 2, (ew + 1) // 2
        assert tuple(y.shape[-2:]) == (eh, ew)


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('with_head', [True, False])
def test_every_parameter_gets_a_gradient(arch, with_head):
    model = randomize(LiteHRNet(arch=arch, with_head=with_head, out_indices=(0, 1, 2, 3)))
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    sum((y * torch.randn_like(y)).sum() for y in outs).backward()
    nonzero = 0
    for name, p in model.named_parameters():
        assert p.grad is not None, f'{name} is not connected to the outputs'
        assert torch.isfinite(p.grad).all(), name
        nonzero += bool(p.grad.abs().sum() > 0)
    # With random weights a few squeeze-excite ReLUs can be dead on a small batch (zero
    # gradient although connected); anything widespread would be a bug.
    assert nonzero >= 0.97 * len(list(model.parameters()))


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_with_cp_same_outputs_gradients_and_statistics(arch):
    plain = randomize(LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)))
    cp = LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3), with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    weights = None
    for model in (plain, cp):
        model.train()
        outs = model(x)
        weights = weights or [torch.randn_like(y) for y in outs]
        sum((y * w).sum() for y, w in zip(outs, weights)).backward()
    with torch.no_grad():
        for a, b in zip(cp(x), plain(x)):
            assert_close(a, b)
    plain_params = dict(plain.named_parameters())
    for name, p in cp.named_parameters():
        assert_close(p.grad, plain_params[name].grad, rel=1e-3)
    plain_buffers = dict(plain.named_buffers())
    for name, b in cp.named_buffers():
        assert torch.equal(b, plain_buffers[name]) if not b.dtype.is_floating_point \
            else torch.allclose(b, plain_buffers[name], rtol=1e-4, atol=1e-6), name


def _saved_for_backward(model, x):
    """How many tensors autograd keeps for the backward of one training forward."""
    count = [0]

    def pack(t):
        count[0] += 1
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x)[0].sum()
    forward_count = count[0]
    loss.backward()  # and the recomputation, if any, runs
    return forward_count


def test_with_cp_really_checkpoints():
    """with_cp keeps only the blocks' inputs for backward, not their activations."""
    x = torch.randn(1, 3, 64, 64)
    plain = _saved_for_backward(LiteHRNet(arch='18').train(), x)
    cp = LiteHRNet(arch='18', with_cp=True).train()
    # the fuse layers and transitions are not checkpointed: about half is saved (1463 of 2650)
    assert _saved_for_backward(cp, x) < 0.7 * plain
    with torch.no_grad():  # nothing is recorded without autograd, with or without with_cp
        cp(x)


def test_mmposes_positional_call():
    """MMPose's own code and tests build its class as ``LiteHRNet(extra, in_channels=3)``."""
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet
    for arch in ('18', 'naive-18'):
        extra = arch_to_extra(arch)
        ours = LiteHRNet(extra, 3, None, dict(type='BN'), False, False)
        ref = MMPoseLiteHRNet(extra, 3, None, dict(type='BN'), False, False)
        assert list(ours.state_dict()) == list(ref.state_dict())
        assert LiteHRNet(extra, in_channels=3).with_head
        with torch.no_grad():
            channels = 40 if arch == '18' else 30
            assert ours.eval()(torch.randn(1, 3, 64, 64))[0].shape == (1, channels, 16, 16)
    assert LiteHRNet('30').spec.stages[1].num_modules == 8  # a name given first is a variant


@pytest.mark.parametrize('first', [42, [1, 2], None.__class__])
def test_positional_first_argument_must_be_extra_or_name(first):
    with pytest.raises(ValueError, match='first argument must be the `extra` dict'):
        LiteHRNet(first)


def test_own_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        LiteHRNet(None, 3, None, dict(type='BN'), False, False, None, '18')


def test_norm_eval_keeps_statistics():
    model = randomize(LiteHRNet(arch='18', norm_eval=True))
    model.train()
    assert model.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(2, 3, 64, 64))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_without_norm_eval_statistics_move():
    model = randomize(LiteHRNet(arch='18')).train()
    before = model.stem.conv1.bn.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert not torch.equal(model.stem.conv1.bn.running_mean, before)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 3])
def test_frozen_stages(frozen_stages):
    model = randomize(LiteHRNet(arch='18', frozen_stages=frozen_stages))
    model.train()
    frozen = ([] if frozen_stages < 0 else ['stem.']) + \
        [f'{p}{i}.' for i in range(max(frozen_stages, 0)) for p in ('transition', 'stage')]
    is_frozen = lambda name: any(name.startswith(f) for f in frozen)  # noqa: E731
    for name, p in model.named_parameters():
        assert p.requires_grad != is_frozen(name), name
    for name, m in model.named_modules():
        if isinstance(m, _BatchNorm):
            assert m.training != is_frozen(name + '.'), name
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(2, 3, 64, 64))[0].sum().backward()
    for k, v in model.state_dict().items():
        if is_frozen(k):
            assert torch.equal(v, before[k]), k
    # a trainable stage does move its statistics
    assert not torch.equal(model.head_layer.projects[0].depthwise_conv.bn.running_mean,
                           before['head_layer.projects.0.depthwise_conv.bn.running_mean'])


def test_train_returns_self():
    model = LiteHRNet(arch='18')
    assert model.train() is model and model.eval() is model


@pytest.mark.parametrize('norm_cfg', [dict(type='GN', num_groups=1), dict(type='SyncBN')])
def test_other_norms_build(norm_cfg):
    model = LiteHRNet(arch='18', norm_cfg=norm_cfg)
    if norm_cfg['type'] == 'GN':
        with torch.no_grad():
            assert model.eval()(torch.randn(1, 3, 64, 64))[0].shape == (1, 40, 16, 16)


def test_init_weights_and_pretrained(tmp_path):
    src = randomize(LiteHRNet(arch='18'))
    path = tmp_path / 'backbone.pth'
    torch.save(src.state_dict(), path)
    model = LiteHRNet(arch='18', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for k, v in model.state_dict().items():
        assert torch.equal(v, src.state_dict()[k]), k


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_default_init_is_mmposes(arch):
    """The default init_cfg gives, from the same seed, exactly MMPose's initial weights."""
    ref, ours = mmpose_litehrnet(arch, True), LiteHRNet(arch=arch)
    torch.manual_seed(1)
    ref.init_weights()
    torch.manual_seed(1)
    ours.init_weights()
    expected = ref.state_dict()
    for k, v in ours.state_dict().items():
        assert torch.equal(v, expected[k]), k
    assert ours.transition0[1][0][0].weight.std() < 0.01  # Normal(std=0.001) on plain convs


def _extra(**stage_changes):
    extra = arch_to_extra('18')
    extra['stages_spec'] = dict(extra['stages_spec'], **stage_changes)
    return extra


BAD = [
    (dict(arch='45'), "arch '45' is not a Lite-HRNet variant"),
    (dict(arch='18', extra=arch_to_extra('18')), 'either `arch`'),
    (dict(extra=[1, 2]), 'first argument must be the `extra` dict'),
    (dict(extra=dict(arch_to_extra('18'), num_stages=2)),
     r'stages_spec.num_modules` must be a list of num_stages=2'),
    (dict(extra=_extra(num_modules=(2, 4))), r'stages_spec.num_modules'),
    (dict(extra=_extra(num_channels=((40, 80), (40, 80, 160), (40, 80, 160)))),
     r'stages_spec.num_channels\[2\]` must be a list of num_branches\[2\]=4'),
    (dict(extra=_extra(num_channels=((40, 81), (40, 80, 160), (40, 80, 160, 320)))),
     r'stages_spec.num_channels\[0\]` must be even'),
    (dict(extra=_extra(module_type=('LITE', 'HEAVY', 'LITE'))),
     r"stages_spec.module_type\[1\]` must be 'LITE' or 'NAIVE'"),
    (dict(extra=_extra(num_branches=(2, 1, 4))), r'stages_spec.num_branches\[1\]'),
    (dict(extra=_extra(with_fuse=(True, 1, True))), r'stages_spec.with_fuse\[1\]'),
    (dict(extra=_extra(reduce_ratios=(8, 0, 8))), r'stages_spec.reduce_ratios\[1\]'),
    (dict(extra=dict(arch_to_extra('18'), stem=dict(stem_channels=31, out_channels=32,
                                                    expand_ratio=1))),
     'stem.stem_channels` must be an even'),
    (dict(extra=dict(arch_to_extra('18'), heads=1)), 'unknown keys'),
    (dict(out_indices=(0, 4)), r'out_indices must be ints in \[0, 3\]'),
    (dict(out_indices=()), 'out_indices'),
    (dict(frozen_stages=4), 'frozen_stages must be an int from -1'),
    (dict(in_channels=0), 'in_channels must be a positive int'),
    (dict(norm_cfg=dict(type='NoSuchNorm')), "'NoSuchNorm' is not a registered norm"),
    (dict(norm_cfg=dict(type='GN', num_groups=32)), 'norm_cfg .* cannot normalise'),
    (dict(with_head='yes'), 'with_head must be'),
]


@pytest.mark.parametrize('kwargs,message', BAD, ids=[m[:30] for _, m in BAD])
def test_bad_configuration_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LiteHRNet(**kwargs)


@pytest.mark.parametrize('shape,message', [
    ((1, 1, 64, 64), 'in_channels=3, but the input has 1 channels'),
    ((1, 3, 31, 64), 'input 31x64 is too small.*>= 32'),
    ((3, 64, 64), r'\(N, C, H, W\)'),
])
def test_bad_input_raises(shape, message):
    model = LiteHRNet(arch='18').eval()
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def test_in_channels_one():
    model = LiteHRNet(arch='18', in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 64, 64))[0].shape == (1, 40, 16, 16)


def test_a_load_that_leaves_backbone_weights_missing_is_refused():
    model = randomize(LiteHRNet(arch='18'))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('head_layer.')}
    with pytest.raises(RuntimeError, match=r"lacks \d+ of its weights \(first: \['head_layer"):
        LiteHRNet(arch='18').load_state_dict(state, strict=False)
    # a full state dict loads, also without the BatchNorm counters old checkpoints lack
    full = {k: v for k, v in model.state_dict().items() if 'num_batches_tracked' not in k}
    loaded = LiteHRNet(arch='18')
    loaded.load_state_dict(full, strict=False)
    assert torch.equal(loaded.head_layer.projects[0].depthwise_conv.conv.weight,
                       model.head_layer.projects[0].depthwise_conv.conv.weight)
    partial = LiteHRNet(arch='18')
    partial.allow_partial_load = True  # the documented way to load it on purpose
    assert partial.load_state_dict(state, strict=False).missing_keys


def test_init_model_with_a_checkpoint_of_another_model_is_refused(tmp_path, configs):
    """MMPose's init_model loads non-strictly and runs no hook: the backbone refuses."""
    from mmengine.runner import save_checkpoint
    from mmpose.apis import init_model
    config = configs.coco
    other = {f'backbone.{k}': v for k, v in LiteHRNet(arch='naive-18').state_dict().items()}
    path = str(tmp_path / 'naive18.pth')
    save_checkpoint({'state_dict': other, 'meta': {}}, path)
    with pytest.raises(RuntimeError, match=r"LiteHRNet: the state dict being loaded lacks \d+ "
                       r"of its weights under 'backbone.'"):
        init_model(config, path, device='cpu')


def test_deploy_in_a_training_config_is_refused_before_training():
    model = LiteHRNet(arch='18', deploy=True)
    with pytest.raises(ValueError, match=r'deploy=True\) is an inference setting.*remove '
                       r'deploy=True from the training config'):
        model.init_weights()  # MMEngine's runner does this before the first iteration
    assert not model.deployed
    plain = LiteHRNet(arch='18')
    plain.init_weights()
    assert plain.transition0[1][0][0].weight.std() < 0.01  # initialised as configured
