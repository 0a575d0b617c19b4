"""Fast inference through MMPose's and MMSeg's own APIs: the estimator and segmentor with a
chosen backend (:mod:`.models`), the part of the model a backend runs (:mod:`.parts`), the
artefacts built for it and their cache (:mod:`.runner`, :mod:`.artefacts`), and the config
that selects them (:func:`fast_config`).

    from mmpose.apis import inference_topdown
    model = init_fast_model(CONFIG, CHECKPOINT, backend='onnxruntime')
    results = inference_topdown(model, image)        # PoseDataSamples, as MMPose's

or ``MMPoseInferencer(pose2d=fast_config(CONFIG, 'onnxruntime'), pose2d_weights=CHECKPOINT)``;
for segmentation ``mmseg.apis.inference_model(init_fast_model(SEG_CONFIG, CKPT, 'openvino'),
image)``. The backends themselves are in :mod:`litehrnet_mm.backends`.
"""
import copy
from typing import Dict, Optional, Union

from mmengine.config import Config

from ..backends import BACKENDS as _BACKEND_CLASSES
from ..backends import BackendSpec, make_backend
from ..builder import build_model, load_config
from ..deprecation import moved_names
from .artefacts import cache_dir, check_artefact, make_record, read_record
from .models import FastEncoderDecoder, FastTopdownPoseEstimator
from .parts import GRAPH_PARTS, GraphPart
from .runner import BackendRunner

#: the model types of MMPose and MMSeg that have a fast form, and that form
FAST_TYPES = {'TopdownPoseEstimator': 'litehrnet_mm.FastTopdownPoseEstimator',
              'EncoderDecoder': 'litehrnet_mm.FastEncoderDecoder'}

__all__ = ['BACKENDS', 'BACKEND_OPTIONS', 'backend_names', 'backend_options', 'FAST_TYPES',
           'FastEncoderDecoder', 'FastTopdownPoseEstimator', 'BackendRunner', 'GRAPH_PARTS',
           'GraphPart', 'cache_dir', 'check_artefact', 'fast_config', 'init_fast_model',
           'make_record', 'parse_backend', 'read_record']

_moved = moved_names(__name__, {'Runtime': f'{__name__}.runner:BackendRunner',
                                'RuntimePart': f'{__name__}.parts:GraphPart'})


def backend_names() -> tuple:
    """The names of the backends registered now (:mod:`litehrnet_mm.backends`)."""
    return tuple(_BACKEND_CLASSES)


def backend_options() -> Dict[str, dict]:
    """Each registered backend's options and their defaults."""
    return {name: cls.options_class.defaults() for name, cls in _BACKEND_CLASSES.items()}


def __getattr__(name: str):
    """``BACKENDS`` (the names) and ``BACKEND_OPTIONS``, read when asked for: a backend
    registered after this module was imported is in them."""
    if name == 'BACKENDS':
        return backend_names()
    if name == 'BACKEND_OPTIONS':
        return backend_options()
    return _moved(name)


def parse_backend(spec: BackendSpec) -> dict:
    """``spec`` (a name or ``dict(type=NAME, **options)``) as ``dict(type=NAME, **options)``
    with every option filled in; refuses an unknown backend or option, a value an option does
    not take, and a backend whose Python package is not installed (naming the pip command),
    before any work."""
    backend = make_backend(spec)
    return dict(type=backend.name, **backend.options.as_dict())


def fast_config(config: Union[str, Config], backend: BackendSpec = 'pytorch',
                **options) -> Config:
    """``config`` (a path or a Config) with its model switched to the fast form running
    ``backend`` with ``options`` (see :func:`backend_options`); checked before anything is
    built."""
    cfg = load_config(config)
    cfg = Config(copy.deepcopy(cfg.to_dict()), filename=cfg.filename)
    if options and not isinstance(backend, str):
        raise TypeError(f'give the options once: in the backend dict or as keywords, got '
                        f'{backend!r} and {options}')
    spec = dict(type=backend, **options) if isinstance(backend, str) else backend
    chosen = make_backend(spec)  # refuses bad input now
    model_type = cfg.model.get('type')
    fast = FAST_TYPES.get(str(model_type).split('.')[-1].split('::')[-1])
    if fast is None and model_type not in FAST_TYPES.values():
        raise ValueError(f'{cfg.filename}: model type {model_type!r} has no fast form; '
                         f'the fast forms are of {sorted(FAST_TYPES)}')
    cfg.model.type = fast or model_type
    cfg.model.backend = chosen.spec()
    return cfg


def init_fast_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                    backend: BackendSpec = 'pytorch', device: str = 'cpu', **options):
    """The model of ``config`` in its fast form (:func:`fast_config`) through the package's
    ``init_model``, the checkpoint loaded strictly (:func:`litehrnet_mm.builder.build_model`)."""
    return build_model(fast_config(config, backend, **options), checkpoint, device=device)
