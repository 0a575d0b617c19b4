"""ONNX Runtime and OpenVINO sessions for exported files, with the settings this project
measures with (latency-oriented, a given number of threads, fp32 unless asked otherwise)."""
import functools
import os
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

_INSTALL = {'onnxruntime': 'pip install onnxruntime', 'openvino': 'pip install openvino',
            'onnx': 'pip install onnx'}


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f'{module} is not installed: {_INSTALL[module]}') from None


def onnxruntime_session(path: str, threads: Optional[int] = None):
    """An ONNX Runtime CPU session with all graph optimisations (NCHWc layout included)."""
    ort = _require('onnxruntime')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


@functools.lru_cache(maxsize=None)
def openvino_core():
    """The process's one ``openvino.Core``, kept until exit.

    Each Core's CPU plugin installs its own alternate signal stack on the calling thread and,
    when the Core is destroyed, puts back the one that was there before. Two Cores destroyed
    in the order they were made (two runners, the first dropped first) leave the thread
    pointing at the first one's freed stack, and the next signal with a Python handler
    (``SIGCHLD`` when a subprocess ends, with a handler installed; ``SIGINT``) kills the
    process with a segmentation fault. One Core, never destroyed, installs one stack and
    never restores one. (A Core that another library makes and drops in between, as NNCF
    does, puts back ours: a Core restores only while its own stack is the current one.)
    """
    return _require('openvino').Core()


def openvino_model(path, threads: Optional[int] = None, precision: str = 'f32',
                   shape: Optional[Sequence[int]] = None):
    """An OpenVINO CPU model compiled for latency; ``precision`` is the inference precision
    hint (``'f32'``, or ``'bf16'`` where the CPU has it). ``shape`` fixes the input's shape
    before compiling (see :data:`OPENVINO_SHAPES`); ``path`` (a file) may also be an
    ``openvino.Model`` read before, which is left unchanged."""
    ov = _require('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    core = openvino_core()
    model = path.clone() if isinstance(path, ov.Model) else core.read_model(os.fspath(path))
    if shape is not None:
        model.reshape(list(shape))
    return core.compile_model(model, 'CPU', config)


#: How many input shapes an OpenVINO runner compiles with static shapes, each the first time
#: it meets it; further shapes run in one compile with the file's free axes (no compile per
#: shape, and a bounded number of compiled copies in memory). With its free axes fixed,
#: OpenVINO ran our Lite-HRNet-18 export (and MMPose's) about 1.3x faster at batch 1 than the
#: same file compiled with free axes: the graph's shape arithmetic (hundreds of ShapeOf and
#: Broadcast ops) folds away. Compiling for a shape took about 0.6 s here.
OPENVINO_SHAPES = 8


#: per input axis: (fixed size or None, factor its size must be a multiple of or None, the
#: axis' name in the file)
AxisSpec = Tuple[Optional[int], Optional[int], str]


def onnx_input_spec(path: str) -> List[AxisSpec]:
    """What sizes the first input of an exported file takes, axis by axis (a dynamic export
    names its height and width ``32*height_32`` and ``32*width_32``)."""
    onnx = _require('onnx')
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


def runner(kind: str, path: str, threads: Optional[int] = None, precision: str = 'f32',
           static_shapes: bool = True) -> Callable[[np.ndarray], list]:
    """``run(x) -> list of outputs`` for ``kind`` ``'onnxruntime'`` or ``'openvino'``; ``x``
    is checked against the sizes the file was exported for, and must be float32.

    OpenVINO compiles the file for each of the first :data:`OPENVINO_SHAPES` input shapes it
    is given (``static_shapes``), other shapes and ``static_shapes=False`` run one compile
    with the file's free axes (no compile per new shape, slower per call)."""
    if kind not in ('onnxruntime', 'openvino'):
        raise ValueError(f"runtime must be 'onnxruntime' or 'openvino', got {kind!r}")
    spec = onnx_input_spec(path)

    def check(x):
        if not isinstance(x, np.ndarray) or x.dtype != np.float32:
            raise ValueError(f'{path} takes a float32 numpy array, got '
                             f'{getattr(x, "dtype", type(x).__name__)}')
        check_input_shape(path, spec, x.shape)

    if kind == 'onnxruntime':
        session = onnxruntime_session(path, threads)
        name = session.get_inputs()[0].name

        def run(x):
            check(x)
            return session.run(None, {name: x})
        return run
    model = openvino_core().read_model(os.fspath(path))
    compiled: Dict[Optional[tuple], _Compiled] = {}  # by input shape; None: free axes

    def run(x):
        check(x)
        shape = x.shape if static_shapes else None
        if shape not in compiled and len(compiled) >= OPENVINO_SHAPES + (None in compiled):
            shape = None
        if shape not in compiled:
            compiled[shape] = _Compiled(openvino_model(model, threads, precision, shape))
        return compiled[shape](x)
    return run


class _Compiled:
    """An OpenVINO compiled model and its infer request: ``x`` in, copies of the outputs out."""

    def __init__(self, compiled):
        self.outputs = len(compiled.outputs)
        self.request = compiled.create_infer_request()

    def __call__(self, x: np.ndarray) -> list:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.outputs)]
