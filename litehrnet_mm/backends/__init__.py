"""The backends that run a part of a model in its deploy form, one class each:

- ``'pytorch'`` (:class:`PyTorchBackend`): the deploy form in eager PyTorch (any device, any
  size);
- ``'compiled'`` (:class:`CompiledBackend`): an AOTInductor package of the deploy form (CPU),
  one per input size; also ``torch.compile`` of any model (:func:`compile_model`);
- ``'onnxruntime'`` and ``'openvino'`` (:class:`OnnxRuntimeBackend`,
  :class:`OpenVINOBackend`): an ONNX export of the deploy form (:func:`export_onnx`) in that
  runtime (CPU).

A backend is named in configs and tools by its name, with options as
``dict(type=NAME, **options)`` (:func:`make_backend`); its options are a dataclass that
checks itself. :mod:`litehrnet_mm.inference` builds the artefacts, caches and checks them.
"""
from typing import Optional

# registered in this order: the default first, then the artefact backends
from .pytorch import PyTorchBackend  # isort: skip
from .base import (BACKENDS, META_KEY, ArtefactBackend, ArtefactOptions, Backend,
                   BackendOptions, BackendSpec, Runner, backend_class, backends_for_file,
                   make_backend, register_backend)
from .compiled import (AUTOTUNE_ENV, AUTOTUNE_OPTIONS, INDUCTOR_OPTIONS, CompiledBackend,
                       CompiledModel, CompiledOptions, PackagedModel, autotune_default,
                       build_package, compile_model, cpu_features, read_package_metadata,
                       read_package_record)
from .onnx import (ArrayRunner, AxisSpec, OnnxBackend, OnnxOptions, check_export_shape,
                   check_input_shape, check_onnx_input, export_module, export_onnx,
                   onnx_backends, onnx_input_spec, read_onnx_metadata, write_onnx_metadata)
from .onnxruntime import OnnxRuntimeBackend, onnxruntime_session
from .openvino import (OPENVINO_SHAPES, OpenVINOBackend, OpenVINOOptions, openvino_core,
                       openvino_model)

__all__ = [
    'BACKENDS', 'META_KEY', 'ArtefactBackend', 'ArtefactOptions', 'Backend', 'BackendOptions',
    'BackendSpec', 'Runner', 'backend_class', 'backends_for_file', 'make_backend',
    'register_backend', 'AUTOTUNE_ENV', 'AUTOTUNE_OPTIONS', 'autotune_default',
    'INDUCTOR_OPTIONS', 'CompiledBackend', 'CompiledModel',
    'CompiledOptions', 'PackagedModel', 'build_package', 'compile_model', 'cpu_features',
    'read_package_metadata', 'read_package_record', 'ArrayRunner', 'AxisSpec', 'OnnxBackend',
    'OnnxOptions', 'check_export_shape', 'check_input_shape', 'check_onnx_input',
    'export_module', 'export_onnx', 'onnx_backends', 'onnx_input_spec', 'read_onnx_metadata',
    'write_onnx_metadata', 'OnnxRuntimeBackend', 'onnxruntime_session', 'OPENVINO_SHAPES',
    'OpenVINOBackend', 'OpenVINOOptions', 'openvino_core', 'openvino_model', 'PyTorchBackend',
    'runner'
]


def runner(backend: str, path: str, threads: Optional[int] = None,
           **options) -> ArrayRunner:
    """``run(x) -> list of arrays`` of the ONNX file at ``path`` in the ONNX backend named
    ``backend`` (``'onnxruntime'`` or ``'openvino'``, with its options); ``x`` is checked
    against the sizes the file was exported for, and must be float32. Running a file needs
    the backend's runtime only (not what builds one). Options another ONNX backend takes are
    accepted at their defaults (``precision='f32'``, ``static_shapes=True``), as before."""
    cls = BACKENDS.get(backend)
    if cls is None or not issubclass(cls, OnnxBackend):
        raise ValueError(f'backend must be {" or ".join(map(repr, onnx_backends()))}, got '
                         f'{backend!r}')
    defaults = {k: v for name in onnx_backends()
                for k, v in BACKENDS[name].options_class.defaults().items()}
    unused = {k for k, v in options.items()
              if k not in cls.options_class.names() and k in defaults and v == defaults[k]}
    options = {k: v for k, v in options.items() if k not in unused}
    return make_backend(dict(type=backend, threads=threads, **options), build=False) \
        .checked_runner(path)
