"""MMPose's top-down estimator and MMSeg's encoder-decoder with a chosen backend for inference.

Each is the package's own class with one step swapped when not training: the estimator's
``extract_feat`` (backbone and neck) and the segmentor's ``encode_decode`` logits (backbone,
neck and decode head) run in the backend; everything else (data preprocessing, flip test,
MMPose's head and decoding, MMSeg's resizing, cropping of padding and post-processing) is the
package's own code. The torch modules stay as they are, so checkpoints load strictly and
``state_dict()`` is the plain model's; training runs the torch modules.

Chosen in a config by the model type and a ``backend`` field::

    model = dict(type='litehrnet_mm.FastTopdownPoseEstimator',
                 backend=dict(type='onnxruntime'), backbone=..., head=...)

(:func:`litehrnet_mm.inference.fast_config` writes it for any of our configs.)
"""
import inspect
import warnings

from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.models.segmentors import EncoderDecoder

from ..backends import BackendSpec
from ..deprecation import REMOVED_IN
from ..registry import MODELS
from .runner import BackendRunner

#: MMSeg pads test images to this multiple (the backbone's largest stride) for the backends
SIZE_DIVISOR = 32


class _OnBackend:
    """Refuses, when the model is moved, a device that its backend cannot run on; keeps the
    arguments it was built with (``model_cfg``: what an artefact records of the config when
    the model has no ``cfg``, as a model an MMEngine runner builds)."""

    def _keep_arguments(self, args, kwargs) -> None:
        bound = inspect.signature(super().__init__).bind_partial(*args, **kwargs)
        self.model_cfg = dict(bound.arguments)

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        runner = self.__dict__.get('backend_runner')
        if runner is not None:
            runner.forget_tensors()  # buffers are new tensors now
            for p in self.parameters():
                runner.check_device(p.device)
                break
        return out

    def _warn_runtime(self) -> None:
        warnings.warn(f'{type(self).__name__}.runtime is now .backend_runner; the old name '
                      f'goes in litehrnet-mm {REMOVED_IN}', DeprecationWarning, stacklevel=3)

    @property
    def runtime(self) -> BackendRunner:
        """Deprecated name of :attr:`backend_runner`."""
        self._warn_runtime()
        return self.backend_runner

    @runtime.setter
    def runtime(self, runner: BackendRunner) -> None:
        self._warn_runtime()
        self.backend_runner = runner


@MODELS.register_module()
class FastTopdownPoseEstimator(_OnBackend, TopdownPoseEstimator):
    """MMPose's ``TopdownPoseEstimator`` whose features come from ``backend`` at inference
    (see :mod:`litehrnet_mm.backends`); arguments otherwise MMPose's."""

    def __init__(self, *args, backend: BackendSpec = 'pytorch', **kwargs):
        runner = BackendRunner(backend, graph='features', dynamic=False)  # bad specs first
        super().__init__(*args, **kwargs)
        self.backend_runner = runner
        self._keep_arguments(args, kwargs)

    def extract_feat(self, inputs):
        if self.training:
            return super().extract_feat(inputs)
        return self.backend_runner(self, inputs)


@MODELS.register_module()
class FastEncoderDecoder(_OnBackend, EncoderDecoder):
    """MMSeg's ``EncoderDecoder`` whose logits come from ``backend`` at inference. Test images
    are padded to multiples of 32 (MMSeg's data preprocessor ``test_cfg``, unless the config
    sets a size) and the results cropped back by MMSeg."""

    def __init__(self, *args, backend: BackendSpec = 'pytorch', **kwargs):
        runner = BackendRunner(backend, graph='logits', dynamic=True)
        super().__init__(*args, **kwargs)
        self.backend_runner = runner
        self._keep_arguments(args, kwargs)
        pre = self.data_preprocessor
        if not isinstance(pre, SegDataPreProcessor):
            raise TypeError(f'{type(self).__name__} pads test images with MMSeg\'s '
                            f'SegDataPreProcessor; the config gives {type(pre).__name__}')
        test_cfg = dict(pre.test_cfg or {})
        if test_cfg.get('size') is None and test_cfg.get('size_divisor') is None:
            test_cfg['size_divisor'] = SIZE_DIVISOR
        size, divisor = test_cfg.get('size'), test_cfg.get('size_divisor')
        sizes = ([divisor] if divisor else []) + list(size or [])
        if any(s % SIZE_DIVISOR for s in sizes):
            raise ValueError(f'data_preprocessor.test_cfg {test_cfg} pads test images to sizes '
                             f'that are not multiples of {SIZE_DIVISOR}; the backends take '
                             f'multiples of {SIZE_DIVISOR}: set size_divisor={SIZE_DIVISOR}')
        pre.test_cfg = test_cfg

    def encode_decode(self, inputs, batch_img_metas):
        if self.training:
            return super().encode_decode(inputs, batch_img_metas)
        logits = self.backend_runner(self, inputs)[0]
        return self.decode_head.predict_by_feat(logits, batch_img_metas)
