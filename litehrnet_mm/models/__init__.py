"""Models: the backbone, its building blocks and the IterativeHead neck.

Importing this package registers ``litehrnet_mm.LiteHRNet`` and ``litehrnet_mm.IterativeHead``.
"""
from .backbones import (ARCH_SETTINGS, ArchSetting, LiteHRNet, NetworkSpec, arch_to_extra,
                        validate_extra)
from .necks import IterativeHeadNeck, head_layer_to_neck

__all__ = ['LiteHRNet', 'ARCH_SETTINGS', 'ArchSetting', 'NetworkSpec', 'arch_to_extra',
           'validate_extra', 'IterativeHeadNeck', 'head_layer_to_neck']
