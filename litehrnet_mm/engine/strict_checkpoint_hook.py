"""Fail fast when a loaded checkpoint does not fit the model, or when a run would resume from a
checkpoint outside its work dir.

MMEngine's runner loads ``load_from`` (and so ``mim test``'s checkpoint) with ``strict=False``:
a checkpoint of another architecture, or one with renamed layers, only logs a warning and leaves
layers at their initial values. Auto-resume (``resume=True`` without ``load_from``; ``mim train
--resume``) follows ``work_dir/last_checkpoint``, which may name any file. Our configs add this
hook, which raises instead.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Iterable, List, Optional, Pattern, Sequence, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..fileio import is_inside
from ..registry import HOOKS

Mismatch = Tuple[str, Tuple[int, ...], Tuple[int, ...]]


def _as_model_sees_it(model: torch.nn.Module, state_dict: dict) -> 'OrderedDict[str, object]':
    """``state_dict`` after the key changes a load makes: MMEngine's default ``module.``
    stripping, then the model's own load pre-hooks (MMPose's pose estimators rename MMPose 0.x
    ``keypoint_head.`` keys there), applied to a copy; nothing is loaded."""
    converted = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    for hook in model._load_state_dict_pre_hooks.values():
        hook(converted, '', {}, True, [], [], [])
    return converted


def compare_state_dict(model: torch.nn.Module, state_dict: dict,
                       ignore: Sequence[Pattern] = ()) -> Tuple[List[str], List[str],
                                                                List[Mismatch]]:
    """Missing keys, unexpected keys and ``(key, checkpoint shape, model shape)`` of the keys
    whose shapes differ, leaving out keys that match a pattern of ``ignore``."""
    kept = lambda key: not any(p.search(key) for p in ignore)  # noqa: E731
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if kept(k)}
    loaded = {k: tuple(getattr(v, 'shape', ())) for k, v in
              _as_model_sees_it(model, state_dict).items() if kept(k)}
    missing = [k for k in expected if k not in loaded]
    unexpected = [k for k in loaded if k not in expected]
    mismatched = [(k, loaded[k], expected[k]) for k in expected
                  if k in loaded and loaded[k] != expected[k]]
    return missing, unexpected, mismatched


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: dict, source: str,
                          ignore: Sequence[Pattern] = ()) -> None:
    """Raise ``RuntimeError`` naming ``source`` and the first differing keys (and shapes) when
    ``checkpoint`` (an MMEngine checkpoint or a bare state dict) does not fit ``model``."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    missing, unexpected, mismatched = compare_state_dict(model, state_dict, ignore)
    if missing or unexpected or mismatched:
        shapes = [f'{k}: {tuple(a)} in the checkpoint, {tuple(b)} in the model'
                  for k, a, b in mismatched]
        raise RuntimeError(
            f'{source} does not match the model ({type(model).__name__}): '
            f'{len(missing)} missing keys {_head(missing)}, {len(unexpected)} unexpected '
            f'keys {_head(unexpected)}, {len(mismatched)} keys of another shape '
            f'{_head(shapes)}. Check that the config (arch, with_head, neck, number of '
            f'keypoints or classes) is the one the checkpoint was trained with, or allow the '
            f'difference with StrictCheckpointHook(ignore=[...]).')


@HOOKS.register_module()
class StrictCheckpointHook(Hook):
    """Raise when a checkpoint loaded by the runner has missing or unexpected keys or keys of
    another shape, and when auto-resume would follow ``last_checkpoint`` out of the work dir.

    Args:
        ignore (Sequence[str]): Regular expressions of keys allowed to differ, in name or shape
            (for example ``['^head\\.']`` to fine-tune a new head from a pose checkpoint).
    """
    priority = 'VERY_HIGH'

    def __init__(self, ignore: Iterable[str] = ()):
        self.ignore = [re.compile(p) for p in ignore]

    def before_run(self, runner) -> None:
        """Refuse to auto-resume from a ``last_checkpoint`` outside the work dir."""
        last = _auto_resume_target(runner)
        if last is not None and not is_inside(last, runner.work_dir):
            raise ValueError(
                f'{osp.join(runner.work_dir, "last_checkpoint")} points to {last}, outside '
                f'the work dir {runner.work_dir}: a run resumes only from its own checkpoints. '
                f'To continue from that file, give it explicitly (mim train ... --resume '
                f'{last}, or resume=True with load_from) if you trust it.')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = getattr(runner, '_load_from', None) or _auto_resume_target(runner)
        check_checkpoint_fits(model, checkpoint, source or 'the checkpoint', self.ignore)


def _auto_resume_target(runner) -> Optional[str]:
    """What ``work_dir/last_checkpoint`` names when the runner auto-resumes, else None."""
    record = osp.join(runner.work_dir, 'last_checkpoint')
    if (not getattr(runner, '_resume', False) or getattr(runner, '_load_from', None)
            or not osp.isfile(record)):
        return None
    with open(record) as f:
        return f.read().strip()


def _head(keys: List[str], n: int = 5) -> str:
    return str(keys[:n])[:-1] + (', ...]' if len(keys) > n else ']')
