"""Inference: the deploy form of the backbone, and ONNX export."""
from .export import TensorModel, check_export_shape, export_onnx
from .modules import to_deploy

__all__ = ['TensorModel', 'check_export_shape', 'export_onnx', 'to_deploy']
