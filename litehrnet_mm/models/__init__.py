from .backbones import LiteHRNet  # noqa: F401  (registers)
from .blocks import IterativeHead  # noqa: F401

__all__ = ['LiteHRNet', 'IterativeHead']
