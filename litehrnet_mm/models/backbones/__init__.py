from .arch import (ARCH_SETTINGS, ArchSetting, NetworkSpec, StageSpec, StemSpec, arch_to_extra,
                   validate_extra)
from .litehrnet import LiteHRNet

__all__ = ['LiteHRNet', 'ARCH_SETTINGS', 'ArchSetting', 'NetworkSpec', 'StageSpec', 'StemSpec',
           'arch_to_extra', 'validate_extra']
