"""Refuse a pose config whose head predicts another number of keypoints than its data sets
define, before the first iteration, with both numbers in the message.

Without it, MMPose trains such a model until the loss fails on mismatched shapes (more
channels than keypoints) or evaluates it against the wrong keypoints. Our pose configs add
this hook; :func:`litehrnet_mm.builder.build_model` makes the same check when it builds a
model.
"""
from mmengine.hooks import Hook

from ..builder import check_keypoint_count, config_dataset_metas
from ..registry import HOOKS

__all__ = ['KeypointCountHook']


@HOOKS.register_module()
class KeypointCountHook(Hook):
    """Raise ``ValueError`` at the start of a run when the model's ``head.out_channels``
    differs from the ``num_keypoints`` of the config's train, val or test data set."""
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        source = runner.cfg.filename or 'the config'
        check_keypoint_count(runner.model, config_dataset_metas(runner.cfg), source)
