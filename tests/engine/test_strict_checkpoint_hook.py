import types

import pytest
import torch

from litehrnet_mm.engine import StrictCheckpointHook


def _runner(model):
    return types.SimpleNamespace(model=model, _load_from='some/ckpt.pth')


def test_matching_checkpoint_passes():
    model = torch.nn.Linear(2, 2)
    StrictCheckpointHook().after_load_checkpoint(_runner(model),
                                                 dict(state_dict=model.state_dict()))


def test_missing_and_unexpected_keys_raise_with_the_path():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    state = {'module.0.weight': torch.zeros(2, 2), 'extra.weight': torch.zeros(1)}
    with pytest.raises(RuntimeError, match=r"some/ckpt.pth does not match.*1 missing keys "
                       r"\['0.bias'\], 1 unexpected keys \['extra.weight'\]"):
        StrictCheckpointHook().after_load_checkpoint(_runner(model), dict(state_dict=state))


def test_ignore_patterns():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    hook = StrictCheckpointHook(ignore=[r'^0\.bias$'])
    hook.after_load_checkpoint(_runner(model), {'0.weight': torch.zeros(2, 2)})
