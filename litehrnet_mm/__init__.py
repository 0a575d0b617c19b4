"""litehrnet-mm: Lite-HRNet for MMPose 1.x and MMSegmentation 1.x.

Importing the package registers its modules in the ``litehrnet_mm`` registry scope and allows
the classes that MMEngine checkpoints hold under torch's ``weights_only`` loading.
"""
from .checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import datasets, engine, models  # noqa: E402,F401  (registers the modules)

__all__ = ['__version__', 'allow_mmengine_checkpoints']
