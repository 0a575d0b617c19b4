"""ONNX export of pose and segmentation models built from our configs.

The graph maps an image tensor (N, 3, H, W), already normalised as the model's data
preprocessor does, to what ``model(x, mode='tensor')`` returns: heatmaps for an MMPose
``TopdownPoseEstimator``, logits for an MMSeg segmentor. The exporter is torch's
``torch.export``-based one (``torch.onnx.export(..., dynamo=True)``, needs onnxscript). With
``dynamic=True`` batch, height and width stay free, height and width as multiples of 32: the
backbone takes the constant-factor pooling and upsampling paths there. (The older TorchScript
exporter freezes the sizes that MMSeg's heads read with ``int()`` into constants, so its
dynamic-size segmentation graphs are wrong at other sizes.) No MMDeploy rewriter is used.
"""
import json
import warnings
from typing import Optional

import torch

from ..models.backbones.arch import MIN_INPUT_SIZE
from .layers import graph_target

#: the key under which artefacts store what they were built from
META_KEY = 'litehrnet_mm'


class TensorModel(torch.nn.Module):
    """``model(x, mode='tensor')`` as a plain ``forward(x)``: one tensor out, or a tuple when
    the head returns several (RTMPose's SimCC head returns x and y)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x, None, mode='tensor')
        if isinstance(out, (list, tuple)):
            out = out[0] if len(out) == 1 else tuple(out)
        return out


def to_deploy_model(model: torch.nn.Module) -> torch.nn.Module:
    """Switch the Lite-HRNet backbone of an estimator or segmentor to its deploy form (in
    place; other backbones are left as they are). Returns ``model``."""
    backbone = getattr(model, 'backbone', None)
    from ..models import LiteHRNet
    if isinstance(backbone, LiteHRNet):
        backbone.switch_to_deploy()
    return model


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


def export_onnx(model: torch.nn.Module, path: str, height: int, width: int,
                dynamic: bool = False, batch: int = 1, opset: int = 18,
                deploy: bool = True, runtime: str = 'onnxruntime',
                metadata: Optional[dict] = None) -> str:
    """Export ``model`` (a pose estimator or segmentor in eval mode) to ``path``.

    The batch axis is always free; ``dynamic`` frees height and width too (multiples of 32).
    ``deploy`` first switches a Lite-HRNet backbone to its deploy form (in place), whose
    ONNX implementation is what the exporter traces; ``runtime`` (``'onnxruntime'`` or
    ``'openvino'``) picks the form of the channel shuffle that runtime runs fastest (both
    files run in both runtimes). ``metadata`` (JSON-serialisable) is stored in the file
    (:func:`read_onnx_metadata`).
    """
    if deploy:
        to_deploy_model(model)
    return export_module(TensorModel(model).eval(), path, height, width, dynamic=dynamic,
                         batch=batch, opset=opset, runtime=runtime, metadata=metadata)


def export_module(module: torch.nn.Module, path: str, height: int, width: int,
                  dynamic: bool = False, batch: int = 1, opset: int = 18,
                  runtime: str = 'onnxruntime', metadata: Optional[dict] = None) -> str:
    """Export ``module`` (image tensor in, a tensor or a tuple of tensors out, eval mode, its
    Lite-HRNet parts already in the form to trace) to ``path``; arguments as
    :func:`export_onnx`'s."""
    if runtime not in ('onnxruntime', 'openvino'):
        raise ValueError(f"runtime must be 'onnxruntime' or 'openvino', got {runtime!r}")
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
    target = 'openvino' if runtime == 'openvino' else 'onnx'
    with torch.no_grad(), warnings.catch_warnings(), graph_target(target):
        warnings.simplefilter('ignore')
        torch.onnx.export(module, (x, ), path, input_names=['image'], output_names=names,
                          dynamic_shapes={'x': shapes}, opset_version=opset, dynamo=True,
                          external_data=False, verbose=False)
    if metadata is not None:
        write_onnx_metadata(path, metadata)
    return path


def write_onnx_metadata(path: str, metadata: dict) -> None:
    """Store ``metadata`` (JSON) in the ONNX file at ``path`` under the key ``litehrnet_mm``."""
    import onnx
    proto = onnx.load(path)
    entries = [p for p in proto.metadata_props if p.key != META_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(entries)
    proto.metadata_props.add(key=META_KEY, value=json.dumps(metadata, sort_keys=True))
    onnx.save(proto, path)


def read_onnx_metadata(path: str) -> Optional[dict]:
    """What :func:`write_onnx_metadata` stored in ``path``; None for a file without it.
    Raises ``ValueError`` for a file that is not ONNX."""
    import onnx
    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for a file that is not ONNX
        raise ValueError(f'{path} is not an ONNX file ({type(e).__name__}: {e})') from None
    for prop in proto.metadata_props:
        if prop.key == META_KEY:
            return json.loads(prop.value)
    return None
