from .export import TensorModel, check_export_shape, export_onnx
from .fold_bn import fold_batchnorm, fused_conv

__all__ = ['TensorModel', 'check_export_shape', 'export_onnx', 'fold_batchnorm', 'fused_conv']
