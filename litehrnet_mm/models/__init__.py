from .backbones import LiteHRNet  # noqa: F401  (registers)
from .blocks import IterativeHead  # noqa: F401
from .necks import IterativeHeadNeck, head_layer_to_neck  # noqa: F401  (registers)

__all__ = ['LiteHRNet', 'IterativeHead', 'IterativeHeadNeck', 'head_layer_to_neck']
