"""The package's own registry scope.

Each registry is a child of MMEngine's root registry of its kind, in the scope ``litehrnet_mm``.
MMPose's and MMSeg's registries are children of the same roots, so a config of either package
builds our modules with ``type='litehrnet_mm.LiteHRNet'`` while their own ``LiteHRNet`` stays
untouched.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='litehrnet_mm',
                  locations=['litehrnet_mm.models', 'litehrnet_mm.inference'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='litehrnet_mm', locations=['litehrnet_mm.engine'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='litehrnet_mm',
    locations=['litehrnet_mm.datasets'])
