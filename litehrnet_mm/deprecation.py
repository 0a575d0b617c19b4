"""Import paths that moved in 0.2 keep working for one release, with a ``DeprecationWarning``
that names the new place (see docs/changelog.md). Everything here goes in 0.3.

Two kinds: names that left a package that is still there (``litehrnet_mm.deploy.compile_model``
is now ``litehrnet_mm.backends.compile_model``: the package's ``__getattr__``,
:func:`moved_names`), and modules that are gone (``litehrnet_mm.apis``,
``litehrnet_mm.deploy.export``, ...: :data:`MOVED_MODULES`, found by an import hook that
:func:`install` adds when ``litehrnet_mm`` is imported).
"""
import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Callable, Dict

__all__ = ['REMOVED_IN', 'MOVED_MODULES', 'moved_names', 'install']

#: the release that drops the old paths
REMOVED_IN = '0.3'

_BACKENDS = 'litehrnet_mm.backends'
_COMPILED = 'litehrnet_mm.backends.compiled'
_ONNX = 'litehrnet_mm.backends.onnx'
_BUILDER = 'litehrnet_mm.builder'
_TESTING = 'litehrnet_mm.testing'
_MIM = 'litehrnet_mm.mim'
_CLI = 'litehrnet_mm.cli'

#: each removed module: its names, and the module each name moved to
MOVED_MODULES: Dict[str, Dict[str, str]] = {
    'litehrnet_mm.apis': {
        **dict.fromkeys(('load_config', 'config_task', 'build_model', 'build_initialised_model',
                         'TensorModel'), _BUILDER),
        'mmpose_and_ours': _TESTING,
        **dict.fromkeys(('run_mim', 'mim_executable', 'check_cfg_options', 'derived_config',
                         'checkpoint_of_run'), _MIM),
        **dict.fromkeys(('add_model_arguments', 'config_from_arguments',
                         'record_of_arguments'), _CLI),
        'check_onnx_input': _ONNX,
        'MIN_INPUT_SIZE': 'litehrnet_mm.models.backbones.arch',
    },
    'litehrnet_mm.deploy.compile': dict.fromkeys((
        'INDUCTOR_OPTIONS', 'cpu_features', 'CompiledModel', 'compile_model', 'build_package',
        'custom_ops', 'read_package_record', 'read_package_metadata', 'PackagedModel'),
        _COMPILED),
    'litehrnet_mm.deploy.export': {
        **dict.fromkeys(('check_export_shape', 'export_onnx', 'export_module',
                         'write_onnx_metadata', 'read_onnx_metadata'), _ONNX),
        'META_KEY': _BACKENDS, 'TensorModel': _BUILDER,
        'to_deploy_model': 'litehrnet_mm.deploy',
    },
    'litehrnet_mm.deploy.runtimes': dict.fromkeys((
        'onnxruntime_session', 'openvino_core', 'openvino_model', 'OPENVINO_SHAPES',
        'onnx_input_spec', 'check_input_shape', 'runner', 'AxisSpec'), _BACKENDS),
    'litehrnet_mm.inference.backends': {
        **dict.fromkeys(('BackendSpec', 'Runner'), _BACKENDS),
        **dict.fromkeys(('BACKENDS', 'BACKEND_OPTIONS', 'parse_backend'),
                        'litehrnet_mm.inference'),
        'Runtime': 'litehrnet_mm.inference:BackendRunner',
    },
}


def moved_names(old_module: str, new_homes: Dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``old_module`` that finds each name of ``new_homes`` in
    the module it moved to (imported on first use), with a warning. A home
    ``'module:new_name'`` gives a name that was renamed too."""

    def __getattr__(name: str):
        if name not in new_homes:
            raise AttributeError(f'module {old_module!r} has no attribute {name!r}')
        home, _, new_name = new_homes[name].partition(':')
        new_name = new_name or name
        warnings.warn(f'{old_module}.{name} is now {home}.{new_name}; the old name goes in '
                      f'litehrnet-mm {REMOVED_IN}', DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(home), new_name)

    return __getattr__


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a module of :data:`MOVED_MODULES` as an empty module whose names resolve
    through :func:`moved_names`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module) -> None:
        name = module.__name__
        module.__doc__ = f'Moved in litehrnet-mm 0.2; this path goes in {REMOVED_IN}.'
        module.__getattr__ = moved_names(name, MOVED_MODULES[name])
        module.__all__ = sorted(MOVED_MODULES[name])


_FINDER = _MovedModules()


def install() -> None:
    """Make the modules of :data:`MOVED_MODULES` importable (once per process)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
