"""Fail fast when a loaded checkpoint does not fit the model.

MMEngine's runner loads ``load_from`` (and so ``mim test``'s checkpoint) with ``strict=False``:
a checkpoint of another architecture, or one with renamed layers, only logs a warning and leaves
layers at their initial values. Our configs add this hook, which raises instead.
"""
import re

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class StrictCheckpointHook(Hook):
    """Raise when a checkpoint loaded by the runner has missing or unexpected keys.

    Args:
        ignore (Sequence[str]): Regular expressions of keys allowed to differ (for example
            ``['^head\\.']`` to fine-tune a new head from a pose checkpoint).
    """
    priority = 'VERY_HIGH'

    def __init__(self, ignore=()):
        self.ignore = [re.compile(p) for p in ignore]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
        # Loading runs the model's own key conversions (MMPose's pre-hook maps 0.x
        # `keypoint_head.` keys); the runner loads the same weights again right after.
        result = model.load_state_dict(state_dict, strict=False)
        missing = [k for k in result.missing_keys if not self._ignored(k)]
        unexpected = [k for k in result.unexpected_keys if not self._ignored(k)]
        if missing or unexpected:
            source = getattr(runner, '_load_from', None) or 'the checkpoint'
            raise RuntimeError(
                f'{source} does not match the model ({type(model).__name__}): '
                f'{len(missing)} missing keys {_head(missing)}, {len(unexpected)} unexpected '
                f'keys {_head(unexpected)}. Check that the config (arch, with_head, neck) is '
                f'the one the checkpoint was trained with, or allow the difference with '
                f"StrictCheckpointHook(ignore=[...]).")

    def _ignored(self, key):
        return any(p.search(key) for p in self.ignore)


def _head(keys, n=5):
    return str(keys[:n])[:-1] + (', ...]' if len(keys) > n else ']')
