"""Inference: the deploy form of the backbone, compiled and packaged forms, ONNX export and
the runtimes that run it."""
from .compile import (INDUCTOR_OPTIONS, PackagedModel, build_package, compile_model,
                      cpu_features, read_package_metadata)
from .export import (TensorModel, check_export_shape, export_module, export_onnx,
                     read_onnx_metadata, to_deploy_model, write_onnx_metadata)
from .layers import graph_target
from .modules import to_deploy
from .runtimes import onnxruntime_session, openvino_model, runner

__all__ = [
    'INDUCTOR_OPTIONS', 'PackagedModel', 'build_package', 'compile_model', 'cpu_features',
    'read_package_metadata', 'TensorModel', 'check_export_shape', 'export_module',
    'export_onnx', 'read_onnx_metadata', 'write_onnx_metadata',
    'to_deploy_model', 'graph_target', 'to_deploy', 'onnxruntime_session', 'openvino_model',
    'runner'
]
