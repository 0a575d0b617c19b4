"""StrictCheckpointHook: checkpoints that do not fit the model, and auto-resume from outside the
work dir, stop the run with the keys, shapes and paths named."""
import types

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from litehrnet_mm.engine import StrictCheckpointHook


def _runner(model):
    return types.SimpleNamespace(model=model, _load_from='some/ckpt.pth')


def _after_load(model, checkpoint, **kwargs):
    StrictCheckpointHook(**kwargs).after_load_checkpoint(_runner(model), checkpoint)


def test_matching_checkpoint_passes_and_nothing_is_loaded():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    state = {k: torch.full_like(v, 7.0) for k, v in model.state_dict().items()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _after_load(model, dict(state_dict=state))
    for k, v in model.state_dict().items():  # the hook checks; the runner loads
        assert torch.equal(v, before[k]), k
    del state['0.bias']  # the same check does fail on a key less
    with pytest.raises(RuntimeError, match=r"1 missing keys \['0.bias'\]"):
        _after_load(model, dict(state_dict=state))


def test_missing_and_unexpected_keys_raise_with_the_path():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    state = {'module.0.weight': torch.zeros(2, 2), 'extra.weight': torch.zeros(1)}
    with pytest.raises(RuntimeError, match=r"some/ckpt.pth does not match.*1 missing keys "
                       r"\['0.bias'\], 1 unexpected keys \['extra.weight'\], 0 keys of "
                       r"another shape"):
        _after_load(model, dict(state_dict=state))


def _two_layers(classes):
    """A two-layer model whose last layer (`head`) has ``classes`` outputs."""
    model = torch.nn.Sequential()
    model.add_module('body', torch.nn.Linear(4, 4))
    model.add_module('head', torch.nn.Linear(4, classes))
    return model


def test_shape_mismatch_names_the_key_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"2 keys of another shape \['head.weight: \(5, 4\) "
                       r"in the checkpoint, \(3, 4\) in the model', 'head.bias: \(5,\) in the "
                       r"checkpoint, \(3,\) in the model'\]"):
        _after_load(_two_layers(3), _two_layers(5).state_dict())


def test_a_head_of_another_size_can_be_ignored():
    model, source = _two_layers(3), _two_layers(5)
    _after_load(model, source.state_dict(), ignore=[r'^head\.'])
    # then MMEngine's non-strict load takes the rest and leaves the head as it is
    head = model.head.weight.clone()
    _load_checkpoint_to_model(model, dict(state_dict=source.state_dict()), strict=False)
    assert torch.equal(model.body.weight, source.body.weight)
    assert torch.equal(model.head.weight, head)


class Renaming(torch.nn.Module):
    """A model whose load pre-hook renames ``old.`` keys (as MMPose's does for 0.x heads)."""

    def __init__(self):
        super().__init__()
        self.new = torch.nn.Linear(2, 2)
        self._register_load_state_dict_pre_hook(self._rename)

    @staticmethod
    def _rename(state_dict, prefix, *args):
        for key in [k for k in state_dict if k.startswith(prefix + 'old.')]:
            state_dict[key.replace('old.', 'new.', 1)] = state_dict.pop(key)


def test_the_models_own_key_conversion_is_applied():
    model = Renaming()
    state = {'old.weight': torch.zeros(2, 2), 'old.bias': torch.zeros(2)}
    _after_load(model, state)
    assert list(state) == ['old.weight', 'old.bias']  # the caller's dict is left as it was
    with pytest.raises(RuntimeError, match=r"1 unexpected keys \['older.bias'\]"):
        _after_load(model, {'old.weight': torch.zeros(2, 2), 'older.bias': torch.zeros(2)})


@pytest.fixture(scope='module')
def first_run(tmp_path_factory, toy_runner):
    work_dir = tmp_path_factory.mktemp('first')
    toy_runner(work_dir, 2).train()
    return work_dir


def test_auto_resume_from_outside_the_work_dir_is_refused(first_run, tmp_path, toy_runner):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    outside = first_run / 'iter_2.pth'
    (work_dir / 'last_checkpoint').write_text(str(outside))
    runner = toy_runner(work_dir, 4, resume=True, custom_hooks=[StrictCheckpointHook()])
    with pytest.raises(ValueError, match=f'last_checkpoint points to {outside}, outside the '
                       f'work dir {work_dir}'):
        runner.train()
    assert runner.iter == 0


def test_auto_resume_inside_the_work_dir_and_explicit_resume_work(first_run, tmp_path, toy_runner):
    inside = toy_runner(first_run, 3, resume=True, custom_hooks=[StrictCheckpointHook()])
    inside.train()
    assert inside.iter == 3
    explicit = toy_runner(tmp_path, 3, resume=True, load_from=str(first_run / 'iter_2.pth'),
                          custom_hooks=[StrictCheckpointHook()])
    explicit.train()
    assert explicit.iter == 3
