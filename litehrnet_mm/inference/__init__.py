"""Fast inference through MMPose's and MMSeg's own APIs: the estimator and segmentor with a
chosen backend (:mod:`.models`), the backends and their cached artefacts (:mod:`.backends`,
:mod:`.artefacts`), and the config that selects them (:func:`fast_config`).

    from mmpose.apis import inference_topdown
    model = init_fast_model(CONFIG, CHECKPOINT, backend='onnxruntime')
    results = inference_topdown(model, image)        # PoseDataSamples, as MMPose's

or ``MMPoseInferencer(pose2d=fast_config(CONFIG, 'onnxruntime'), pose2d_weights=CHECKPOINT)``;
for segmentation ``mmseg.apis.inference_model(init_fast_model(SEG_CONFIG, CKPT, 'openvino'),
image)``.
"""
import copy
from typing import Optional, Union

from mmengine.config import Config

from .artefacts import RuntimePart, cache_dir, check_artefact, make_record, read_record
from .backends import BACKEND_OPTIONS, BACKENDS, Runtime, parse_backend
from .models import FastEncoderDecoder, FastTopdownPoseEstimator

#: the model types of MMPose and MMSeg that have a fast form, and that form
FAST_TYPES = {'TopdownPoseEstimator': 'litehrnet_mm.FastTopdownPoseEstimator',
              'EncoderDecoder': 'litehrnet_mm.FastEncoderDecoder'}

__all__ = ['BACKENDS', 'BACKEND_OPTIONS', 'FAST_TYPES', 'FastEncoderDecoder',
           'FastTopdownPoseEstimator', 'Runtime', 'RuntimePart', 'cache_dir', 'check_artefact',
           'fast_config', 'init_fast_model', 'make_record', 'parse_backend', 'read_record']


def fast_config(config: Union[str, Config], backend: str = 'pytorch', **options) -> Config:
    """``config`` (a path or a Config) with its model switched to the fast form running
    ``backend`` with ``options`` (see :data:`BACKEND_OPTIONS`); checked before anything is
    built."""
    from ..apis import load_config
    cfg = load_config(config)
    cfg = Config(copy.deepcopy(cfg.to_dict()), filename=cfg.filename)
    spec = parse_backend(dict(type=backend, **options))  # refuses bad input now
    model_type = cfg.model.get('type')
    fast = FAST_TYPES.get(str(model_type).split('.')[-1].split('::')[-1])
    if fast is None and model_type not in FAST_TYPES.values():
        raise ValueError(f'{cfg.filename}: model type {model_type!r} has no fast form; '
                         f'the fast forms are of {sorted(FAST_TYPES)}')
    cfg.model.type = fast or model_type
    cfg.model.backend = {k: v for k, v in spec.items()
                         if k == 'type' or v != BACKEND_OPTIONS[backend][k]}
    return cfg


def init_fast_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                    backend: str = 'pytorch', device: str = 'cpu', **options):
    """The model of ``config`` in its fast form (:func:`fast_config`) through the package's
    ``init_model``, the checkpoint loaded strictly (:func:`litehrnet_mm.apis.build_model`)."""
    from ..apis import build_model
    return build_model(fast_config(config, backend, **options), checkpoint, device=device)
