"""The package's own registry scope.

``MODELS`` is a child of MMEngine's root model registry, in the scope ``litehrnet_mm``. MMPose's
and MMSeg's registries are children of the same root, so a config of either package builds our
modules with ``type='litehrnet_mm.LiteHRNet'`` while their own ``LiteHRNet`` stays untouched.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='litehrnet_mm',
    locations=['litehrnet_mm.models'])
