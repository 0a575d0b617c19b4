"""The targets of the deploy form: which implementation its layers run.

A deploy form is made for a target (:func:`default_target` unless one is given) and every
forward passes one target down through all its layers (:mod:`.layers`). The backbone picks it
once per forward (:class:`~litehrnet_mm.deploy.backbone.DeployForm`): the target a trace asked
for (:func:`~litehrnet_mm.deploy.backbone.deploy_target`), else the form's own, or the
portable one for inputs the channels-last targets do not take.
"""
from . import onednn

#: every target: eager CPU inference, ``torch.compile``/AOTInductor, and the ONNX exports
#: written for ONNX Runtime and for OpenVINO
TARGETS = ('eager', 'inductor', 'onnx', 'openvino')
#: the targets a trace is made for (:func:`~litehrnet_mm.deploy.deploy_target`): the eager
#: target's layers keep state derived from real tensors, which a trace must not create
TRACE_TARGETS = ('inductor', 'onnx', 'openvino')
#: the targets that compute on channels-last float32 CPU tensors
CHANNELS_LAST = ('eager', 'inductor')
#: the target that runs anywhere (any device and dtype, with autograd), on public operators
PORTABLE = 'onnx'


def check_target(target: str) -> str:
    """``target``, refused with the list of targets when it is not one."""
    if target not in TARGETS:
        raise ValueError(f'deploy target must be one of {TARGETS}, got {target!r}')
    return target


def default_target() -> str:
    """``'eager'`` where oneDNN's operators are usable here (:mod:`.onednn`), else the
    portable target."""
    return 'eager' if onednn.available() else PORTABLE
