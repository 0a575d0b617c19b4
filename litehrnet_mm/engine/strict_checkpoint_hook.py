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
from typing import Iterable, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..builder import check_checkpoint_fits, compare_state_dict
from ..fileio import is_inside
from ..registry import HOOKS

__all__ = ['StrictCheckpointHook', 'check_checkpoint_fits', 'compare_state_dict']


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
