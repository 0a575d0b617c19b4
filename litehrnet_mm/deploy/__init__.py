"""The deploy form of Lite-HRNet: the same network with BatchNorm folded and fewer, cheaper
operations, exact to the training form in eval mode (:mod:`.modules`), its layers with an
implementation per target (:mod:`.layers`, :mod:`.target`), the depthwise kernel
(:mod:`.kernels`), oneDNN's private operators behind one adapter (:mod:`.onednn`) and the
backbone's switch to it (:mod:`.backbone`).

What runs the deploy form (``torch.compile``, AOTInductor packages, ONNX export, ONNX Runtime,
OpenVINO) lives in :mod:`litehrnet_mm.backends`; the old names here still work, with a
warning, for one release.
"""
from ..deprecation import moved_names
from .backbone import (DeployForm, deploy_forms, deploy_target, graph_target, make_deploy_form,
                       to_deploy_model)
from .fold import fold_conv_module, fold_conv_norm
from .layers import FoldedConv
from .modules import to_deploy
from .target import CHANNELS_LAST, PORTABLE, TARGETS, TRACE_TARGETS, default_target

__all__ = [
    'DeployForm', 'deploy_forms', 'deploy_target', 'make_deploy_form', 'to_deploy_model',
    'fold_conv_module', 'fold_conv_norm', 'FoldedConv', 'to_deploy', 'CHANNELS_LAST',
    'PORTABLE', 'TARGETS', 'TRACE_TARGETS', 'default_target', 'graph_target'
]

__getattr__ = moved_names(__name__, {
    **dict.fromkeys(('INDUCTOR_OPTIONS', 'PackagedModel', 'build_package', 'compile_model',
                     'cpu_features', 'read_package_metadata', 'check_export_shape',
                     'export_module', 'export_onnx', 'read_onnx_metadata',
                     'write_onnx_metadata', 'onnxruntime_session', 'openvino_model', 'runner'),
                    'litehrnet_mm.backends'),
    'TensorModel': 'litehrnet_mm.builder',
})
