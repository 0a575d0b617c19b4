"""ONNX export of pose and segmentation models built from our configs, and what the two ONNX
backends (``'onnxruntime'``, ``'openvino'``) share.

The graph maps an image tensor (N, 3, H, W), already normalised as the model's data
preprocessor does, to what ``model(x, mode='tensor')`` returns: heatmaps for an MMPose
``TopdownPoseEstimator``, logits for an MMSeg segmentor. The exporter is torch's
``torch.export``-based one (``torch.onnx.export(..., dynamo=True)``, needs onnxscript). With
``dynamic=True`` batch, height and width stay free, height and width as multiples of 32: the
backbone takes the constant-factor pooling and upsampling paths there. (The older TorchScript
exporter freezes the sizes that MMSeg's heads read with ``int()`` into constants, so its
dynamic-size segmentation graphs are wrong at other sizes.) No MMDeploy rewriter is used.
"""
import dataclasses
import json
import re
import warnings
from typing import Callable, ClassVar, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..builder import TensorModel
from ..deploy import deploy_target, to_deploy_model
from ..deprecation import REMOVED_IN
from ..models.backbones.arch import MIN_INPUT_SIZE
from .base import (BACKENDS, META_KEY, ArtefactBackend, ArtefactOptions, Runner, _check_int,
                   require)

__all__ = ['check_export_shape', 'export_module', 'export_onnx', 'write_onnx_metadata',
           'read_onnx_metadata', 'AxisSpec', 'onnx_input_spec', 'check_input_shape',
           'check_onnx_input', 'OnnxOptions', 'OnnxBackend', 'onnx_backends']


def onnx_backends() -> List[str]:
    """The names of the backends that run ONNX files (an export is written for one of them:
    both files run in both)."""
    return [name for name, cls in BACKENDS.items() if issubclass(cls, OnnxBackend)]


def _export_backend(backend: Optional[str], runtime: Optional[str]) -> 'type':
    """The ONNX backend an export is written for (``runtime=`` is the older name of
    ``backend=``)."""
    if runtime is not None:
        warnings.warn(f'the export\'s runtime= is now backend=; the old name goes in '
                      f'litehrnet-mm {REMOVED_IN}', DeprecationWarning, stacklevel=3)
    name = backend or runtime or 'onnxruntime'
    cls = BACKENDS.get(name)
    if cls is None or not issubclass(cls, OnnxBackend):
        raise ValueError(f'an ONNX export is written for backend '
                         f'{" or ".join(map(repr, onnx_backends()))}, got {name!r}')
    return cls


def check_export_shape(height: int, width: int, dynamic: bool):
    """Refuse sizes the model cannot take, before any work."""
    for name, v in (('height', height), ('width', width)):
        if not isinstance(v, int) or v < MIN_INPUT_SIZE:
            raise ValueError(f'export {name} must be an int >= {MIN_INPUT_SIZE} (Lite-HRNet has '
                             f'a stride-{MIN_INPUT_SIZE} branch), got {v!r}')
        if dynamic and v % MIN_INPUT_SIZE:
            nearest = MIN_INPUT_SIZE * round(v / MIN_INPUT_SIZE) or MIN_INPUT_SIZE
            raise ValueError(f'export {name} {v} is not divisible by {MIN_INPUT_SIZE}: a '
                             f'dynamic-size export traces the constant-kernel pooling that '
                             f'sizes divisible by {MIN_INPUT_SIZE} take; use a multiple of '
                             f'{MIN_INPUT_SIZE} (e.g. {nearest})')


def export_onnx(model: nn.Module, path: str, height: int, width: int,
                dynamic: bool = False, batch: int = 1, opset: int = 18,
                deploy: bool = True, runtime: Optional[str] = None,
                metadata: Optional[dict] = None, backend: Optional[str] = None) -> str:
    """Export ``model`` (a pose estimator or segmentor in eval mode) to ``path``.

    The batch axis is always free; ``dynamic`` frees height and width too (multiples of 32).
    ``deploy`` first switches a Lite-HRNet backbone to its deploy form (in place), whose
    ONNX target is what the exporter traces; ``backend`` (``'onnxruntime'``, the default, or
    ``'openvino'``; ``runtime`` is its older name) picks the target whose channel shuffle that
    backend runs fastest (both files run in both). ``metadata`` (JSON-serialisable) is stored
    in the file (:func:`read_onnx_metadata`).
    """
    cls = _export_backend(backend, runtime)
    if deploy:
        to_deploy_model(model)
    return export_module(TensorModel(model).eval(), path, height, width, dynamic=dynamic,
                         batch=batch, opset=opset, metadata=metadata, backend=cls.name)


def export_module(module: nn.Module, path: str, height: int, width: int,
                  dynamic: bool = False, batch: int = 1, opset: int = 18,
                  runtime: Optional[str] = None, metadata: Optional[dict] = None,
                  backend: Optional[str] = None) -> str:
    """Export ``module`` (image tensor in, a tensor or a tuple of tensors out, eval mode, its
    Lite-HRNet parts already in the form to trace) to ``path``; arguments as
    :func:`export_onnx`'s."""
    cls = _export_backend(backend, runtime)
    check_export_shape(height, width, dynamic)
    x = torch.randn(max(batch, 2), 3, height, width)
    dim = torch.export.Dim
    shapes = {0: dim('batch', min=1, max=1024)}
    if dynamic:
        shapes.update({2: 32 * dim('height_32', min=1, max=256),
                       3: 32 * dim('width_32', min=1, max=256)})
    with torch.no_grad():
        outputs = module(x)
    names = ['output'] if isinstance(outputs, torch.Tensor) else \
        [f'output{i}' for i in range(len(outputs))]
    with torch.no_grad(), warnings.catch_warnings(), deploy_target(module, cls.deploy_target):
        warnings.simplefilter('ignore')
        torch.onnx.export(module, (x, ), path, input_names=['image'], output_names=names,
                          dynamic_shapes={'x': shapes}, opset_version=opset, dynamo=True,
                          external_data=False, verbose=False)
    if metadata is not None:
        write_onnx_metadata(path, metadata)
    return path


def write_onnx_metadata(path: str, metadata: dict) -> None:
    """Store ``metadata`` (JSON) in the ONNX file at ``path`` under the key ``litehrnet_mm``."""
    onnx = require('onnx')
    proto = onnx.load(path)
    entries = [p for p in proto.metadata_props if p.key != META_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(entries)
    proto.metadata_props.add(key=META_KEY, value=json.dumps(metadata, sort_keys=True))
    onnx.save(proto, path)


def read_onnx_metadata(path: str) -> Optional[dict]:
    """What :func:`write_onnx_metadata` stored in ``path``; None for a file without it.
    Raises ``ValueError`` for a file that is not ONNX."""
    onnx = require('onnx')
    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for a file that is not ONNX
        raise ValueError(f'{path} is not an ONNX file ({type(e).__name__}: {e})') from None
    for prop in proto.metadata_props:
        if prop.key == META_KEY:
            return json.loads(prop.value)
    return None


#: per input axis: (fixed size or None, factor its size must be a multiple of or None, the
#: axis' name in the file)
AxisSpec = Tuple[Optional[int], Optional[int], str]


def onnx_input_spec(path: str) -> List[AxisSpec]:
    """What sizes the first input of an exported file takes, axis by axis (a dynamic export
    names its height and width ``32*height_32`` and ``32*width_32``)."""
    onnx = require('onnx')
    dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    spec = []
    for dim in dims:
        factor = re.match(r'(\d+)\*', dim.dim_param)
        spec.append((dim.dim_value if dim.HasField('dim_value') else None,
                     int(factor[1]) if factor else None, dim.dim_param))
    return spec


def check_input_shape(path: str, spec: Sequence[AxisSpec], shape: Sequence[int]) -> None:
    """Refuse, with our error rather than the runtime's, an input shape the file was not
    exported for: fixed axes must match, free axes of a dynamic export must be multiples of
    their factor."""
    shape = tuple(shape)
    if len(spec) != len(shape):
        raise ValueError(f'{path} takes a {len(spec)}-d input, got shape {shape}')
    for axis, ((fixed, factor, name), size) in enumerate(zip(spec, shape)):
        if fixed is not None and size != fixed:
            raise ValueError(f'{path} was exported for size {fixed} on axis {axis}, got {size} '
                             f'(shape {shape}): export it at this size, or with --dynamic')
        if factor and size % factor:
            raise ValueError(f'{path} takes sizes divisible by {factor} on axis {axis} ({name}), '
                             f'got {size} (shape {shape}): resize or pad the input to a '
                             f'multiple of {factor}, e.g. '
                             f'{max(factor, factor * round(size / factor))}')


def check_onnx_input(onnx_file: str, shape: Sequence[int]) -> None:
    """Refuse an input shape that ``onnx_file`` was not exported for, with our error rather
    than the runtime's (see :func:`check_input_shape`)."""
    check_input_shape(onnx_file, onnx_input_spec(onnx_file), shape)


#: runs an ONNX file on a float32 array: its outputs as arrays
ArrayRunner = Callable[[np.ndarray], list]


@dataclasses.dataclass(frozen=True)
class OnnxOptions(ArtefactOptions):
    """Options of the ONNX backends (besides :class:`ArtefactOptions`').

    Args:
        threads (int, optional): Intra-op threads; None or 0: the runtime's choice.
    """
    threads: Optional[int] = None

    def check(self) -> None:
        super().check()
        _check_int('threads', self.threads, 0, optional=True)


class OnnxBackend(ArtefactBackend):
    """An ONNX export of the deploy form (CPU), built on first use and cached. Pose graphs are
    exported for their input size, segmentation graphs with free height and width (multiples
    of 32). Subclasses run the file in their runtime (:meth:`array_runner`) and name the
    deploy form's target their exports are traced for (:attr:`deploy_target`)."""
    #: the deploy form's target (:mod:`litehrnet_mm.deploy.target`) an export is traced for
    deploy_target: ClassVar[str] = 'onnx'
    options_class = OnnxOptions
    suffix = '.onnx'
    file_kind = 'an ONNX file'
    requires_to_build = (('onnxscript', 'onnxscript'), )

    def build(self, part: nn.Module, path: str, size: Tuple[int, int], record: dict,
              dynamic: bool = False) -> None:
        export_module(part, path, *size, dynamic=dynamic, backend=self.name, metadata=record)

    def array_runner(self, path: str) -> ArrayRunner:
        """``run(x) -> list of arrays`` of the file at ``path``; ``x`` must be float32."""
        raise NotImplementedError

    def checked_runner(self, path: str) -> ArrayRunner:
        """:meth:`array_runner`, with ``x`` checked against the sizes the file was exported
        for (our error rather than the runtime's) and refused unless float32."""
        spec = onnx_input_spec(path)
        run = self.array_runner(path)

        def run_checked(x: np.ndarray) -> list:
            if not isinstance(x, np.ndarray) or x.dtype != np.float32:
                raise ValueError(f'{path} takes a float32 numpy array, got '
                                 f'{getattr(x, "dtype", type(x).__name__)}')
            check_input_shape(path, spec, x.shape)
            return run(x)
        return run_checked

    def load(self, path: str) -> Runner:
        run = self.checked_runner(path)

        def run_onnx(x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
            arrays = run(np.ascontiguousarray(x.detach().numpy(), dtype=np.float32))
            return tuple(torch.from_numpy(a) for a in arrays)
        return run_onnx

    @classmethod
    def read_record(cls, path: str) -> Optional[dict]:
        return read_onnx_metadata(path)
