"""``'onnxruntime'``: an ONNX export of the deploy form in ONNX Runtime (CPU), with the
settings this project measures with (all graph optimisations, a given number of threads)."""
from typing import Optional

from .base import register_backend, require
from .onnx import ArrayRunner, OnnxBackend

__all__ = ['onnxruntime_session', 'OnnxRuntimeBackend']


def onnxruntime_session(path: str, threads: Optional[int] = None):
    """An ONNX Runtime CPU session with all graph optimisations (NCHWc layout included)."""
    ort = require('onnxruntime')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


@register_backend
class OnnxRuntimeBackend(OnnxBackend):
    """Runs the ONNX export in ONNX Runtime's CPU execution provider."""
    name = 'onnxruntime'
    deploy_target = 'onnx'  # the shuffle as one stack copy, which ONNX Runtime runs fastest
    requires = (('onnxruntime', 'onnxruntime'), ('onnx', 'onnx'))

    @classmethod
    def runtime_version(cls) -> Optional[str]:
        return require('onnxruntime').__version__

    def array_runner(self, path: str) -> ArrayRunner:
        session = onnxruntime_session(path, self.options.threads)
        name = session.get_inputs()[0].name

        def run(x):
            return session.run(None, {name: x})
        return run
