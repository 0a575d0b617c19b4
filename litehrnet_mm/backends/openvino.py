"""``'openvino'``: an ONNX export of the deploy form in OpenVINO (CPU), compiled for latency,
for each input shape it meets (see :data:`OPENVINO_SHAPES`)."""
import dataclasses
import functools
import os
from typing import Dict, Optional, Sequence

import numpy as np

from .base import register_backend, require
from .onnx import ArrayRunner, OnnxBackend, OnnxOptions

__all__ = ['OPENVINO_SHAPES', 'openvino_core', 'openvino_model', 'OpenVINOOptions',
           'OpenVINOBackend']

#: How many input shapes an OpenVINO runner compiles with static shapes, each the first time
#: it meets it; further shapes run in one compile with the file's free axes (no compile per
#: shape, and a bounded number of compiled copies in memory). With its free axes fixed,
#: OpenVINO ran our Lite-HRNet-18 export (and MMPose's) about 1.3x faster at batch 1 than the
#: same file compiled with free axes: the graph's shape arithmetic (hundreds of ShapeOf and
#: Broadcast ops) folds away. Compiling for a shape took about 0.6 s here.
OPENVINO_SHAPES = 8
PRECISIONS = ('f32', 'bf16')


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
    return require('openvino').Core()


def openvino_model(path, threads: Optional[int] = None, precision: str = 'f32',
                   shape: Optional[Sequence[int]] = None):
    """An OpenVINO CPU model compiled for latency; ``precision`` is the inference precision
    hint (``'f32'``, or ``'bf16'`` where the CPU has it). ``shape`` fixes the input's shape
    before compiling (see :data:`OPENVINO_SHAPES`); ``path`` (a file) may also be an
    ``openvino.Model`` read before, which is left unchanged."""
    ov = require('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    core = openvino_core()
    model = path.clone() if isinstance(path, ov.Model) else core.read_model(os.fspath(path))
    if shape is not None:
        model.reshape(list(shape))
    return core.compile_model(model, 'CPU', config)


class _Compiled:
    """An OpenVINO compiled model and its infer request: ``x`` in, copies of the outputs out."""

    def __init__(self, compiled):
        self.outputs = len(compiled.outputs)
        self.request = compiled.create_infer_request()

    def __call__(self, x: np.ndarray) -> list:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.outputs)]


@dataclasses.dataclass(frozen=True)
class OpenVINOOptions(OnnxOptions):
    """Options of the ``'openvino'`` backend (besides :class:`~.onnx.OnnxOptions`').

    Args:
        precision (str): The inference precision hint, ``'f32'`` or ``'bf16'`` (where the
            CPU has it).
        static_shapes (bool): Compile the file for each of the first
            :data:`OPENVINO_SHAPES` input shapes it is given; otherwise (and for further
            shapes) one compile with the file's free axes (no compile per new shape, slower
            per call).
    """
    precision: str = 'f32'
    static_shapes: bool = True

    def check(self) -> None:
        super().check()
        if self.precision not in PRECISIONS:
            raise ValueError(f"openvino precision must be 'f32' or 'bf16', got "
                             f"{self.precision!r}")
        if not isinstance(self.static_shapes, bool):
            raise ValueError(f'openvino static_shapes must be True or False, got '
                             f'{self.static_shapes!r}')


@register_backend
class OpenVINOBackend(OnnxBackend):
    """Runs the ONNX export in OpenVINO's CPU plugin."""
    name = 'openvino'
    deploy_target = 'openvino'  # the shuffle as reshape-transpose-reshape, which OpenVINO fuses
    options_class = OpenVINOOptions
    requires = (('openvino', 'openvino'), ('onnx', 'onnx'))

    @classmethod
    def runtime_version(cls) -> Optional[str]:
        return require('openvino').__version__

    def array_runner(self, path: str) -> ArrayRunner:
        opts = self.options
        model = openvino_core().read_model(os.fspath(path))
        compiled: Dict[Optional[tuple], _Compiled] = {}  # by input shape; None: free axes

        def run(x):
            shape = x.shape if opts.static_shapes else None
            if shape not in compiled and len(compiled) >= OPENVINO_SHAPES + (None in compiled):
                shape = None
            if shape not in compiled:
                compiled[shape] = _Compiled(openvino_model(model, opts.threads, opts.precision,
                                                           shape))
            return compiled[shape](x)
        return run
