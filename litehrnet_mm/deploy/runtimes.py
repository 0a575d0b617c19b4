"""ONNX Runtime and OpenVINO sessions for exported files, with the settings this project
measures with (latency-oriented, a given number of threads, fp32 unless asked otherwise)."""
from typing import Callable, Optional

import numpy as np

_INSTALL = {'onnxruntime': 'pip install onnxruntime', 'openvino': 'pip install openvino'}


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


def openvino_model(path: str, threads: Optional[int] = None, precision: str = 'f32'):
    """An OpenVINO CPU model compiled for latency; ``precision`` is the inference precision
    hint (``'f32'``, or ``'bf16'`` where the CPU has it)."""
    ov = _require('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    return ov.Core().compile_model(path, 'CPU', config)


def runner(kind: str, path: str, threads: Optional[int] = None,
           precision: str = 'f32') -> Callable[[np.ndarray], list]:
    """``run(x) -> list of outputs`` for ``kind`` ``'onnxruntime'`` or ``'openvino'``."""
    if kind == 'onnxruntime':
        session = onnxruntime_session(path, threads)
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})
    if kind == 'openvino':
        model = openvino_model(path, threads, precision)
        request = model.create_infer_request()

        def run(x):
            request.infer({0: x})
            return [request.get_output_tensor(i).data.copy()
                    for i in range(len(model.outputs))]
        return run
    raise ValueError(f"runtime must be 'onnxruntime' or 'openvino', got {kind!r}")
