"""litehrnet-mm: Lite-HRNet for MMPose 1.x and MMSegmentation 1.x.

Importing the package registers its modules in the ``litehrnet_mm`` registry scope, allows
the classes that MMEngine checkpoints hold under torch's ``weights_only`` loading, and makes
MMEngine's checkpoint loading run no code from a checkpoint
(:mod:`litehrnet_mm.engine.checkpoint_loaders`).

The public API (kept stable; everything else may move): :class:`LiteHRNet`,
:class:`IterativeHeadNeck`, ``ARCH_SETTINGS``, :func:`arch_to_extra`, :func:`validate_extra`,
:func:`to_deploy`, :func:`export_onnx`, :func:`allow_mmengine_checkpoints`. The layers of the
package, each importing only those below it: ``builder`` and the file, registry and checkpoint
helpers; ``models``; ``deploy``; ``backends``; ``inference``, ``engine`` and ``datasets``;
``testing``, ``mim`` and ``cli`` (docs/architecture.md).
"""
from .version import __version__
from .weights_only import allow_mmengine_checkpoints

allow_mmengine_checkpoints()

from . import deprecation  # noqa: E402

deprecation.install()  # the import paths that moved in 0.2, for one release

# registers the transform, the hooks and the deploy form
from . import datasets, deploy, engine  # noqa: E402,F401
from .backends import export_onnx  # noqa: E402
from .deploy import to_deploy  # noqa: E402
from .models import (ARCH_SETTINGS, IterativeHeadNeck, LiteHRNet, arch_to_extra,  # noqa: E402
                     validate_extra)
from .engine import checkpoint_loaders  # noqa: E402

checkpoint_loaders.enable()

__all__ = [
    '__version__', 'LiteHRNet', 'IterativeHeadNeck', 'ARCH_SETTINGS', 'arch_to_extra',
    'validate_extra', 'to_deploy', 'export_onnx', 'allow_mmengine_checkpoints'
]
