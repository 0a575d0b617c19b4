from .arch import ARCH_SETTINGS, arch_to_extra
from .litehrnet import LiteHRNet

__all__ = ['LiteHRNet', 'ARCH_SETTINGS', 'arch_to_extra']
