"""Building models from configs: the one place where the package, its tools, benchmarks and
tests turn a config into an MMPose estimator or an MMSeg segmentor.

One scope rule: a config's model is built in the registry scope its ``default_scope`` names
(``'mmpose'`` or ``'mmseg'``), through that package's own ``init_model`` when it is to be used
(:func:`build_model`), or through that package's ``MODELS`` registry when it is to be trained
from its initial weights (:func:`build_initialised_model`, :func:`build_model_part`).

This module sits at the bottom of the package: it imports nothing of ours, so that every
other part can use it.
"""
import copy
import os.path as osp
import re
from collections import OrderedDict
from typing import List, Optional, Pattern, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

__all__ = ['TASKS', 'load_config', 'config_task', 'build_model', 'build_initialised_model',
           'build_model_part', 'TensorModel', 'compare_state_dict', 'check_checkpoint_fits',
           'check_keypoint_count', 'config_dataset_metas']

#: the packages whose configs we build, by their registry scope
TASKS = ('mmpose', 'mmseg')


def load_config(config: Union[str, Config]) -> Config:
    """A config from a path (refused with a clear error when the file is missing)."""
    if isinstance(config, Config):
        return config
    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    return Config.fromfile(config)


def config_task(cfg: Config) -> str:
    """``'mmpose'`` or ``'mmseg'``: the package whose models and API the config uses."""
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(f'{cfg.filename}: default_scope {scope!r} is neither mmpose nor mmseg')
    return scope


def _registry(task: str):
    if task == 'mmpose':
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    return MODELS


def _init_model(cfg: Config):
    if config_task(cfg) == 'mmpose':
        from mmpose.apis import init_model
    else:
        from mmseg.apis import init_model
    return init_model(copy.deepcopy(cfg), None, device='cpu')  # it edits the config


def build_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                device: str = 'cpu', strict: bool = True) -> torch.nn.Module:
    """An MMPose estimator or MMSeg segmentor from ``config``, in eval mode, through the
    package's own ``init_model`` (data preprocessor, ``dataset_meta``, ``cfg``).

    Unlike ``init_model``, the checkpoint loads strictly by default: a missing or unexpected
    key or a shape mismatch raises, naming the checkpoint and the first keys
    (:func:`check_checkpoint_fits`). Without a checkpoint the weights are PyTorch's defaults,
    as with ``init_model``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
    cfg = load_config(config)
    model = _init_model(cfg)
    if config_task(cfg) == 'mmpose':
        check_keypoint_count(model, config_dataset_metas(cfg), cfg.filename)
    if checkpoint is not None:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')  # litehrnet_mm's loaders
        if strict:
            check_checkpoint_fits(model, ckpt, checkpoint)
        _load_checkpoint_to_model(model, ckpt, strict=False)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    return model.to(device).eval()


def build_model_part(part: dict, task: str) -> torch.nn.Module:
    """A model dict (a whole ``cfg.model`` or one of its parts: a backbone, a head) built by
    ``task``'s registry in its scope, with PyTorch's default weights, in training mode."""
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    with DefaultScope.overwrite_default_scope(task):
        return _registry(task).build(copy.deepcopy(part))


def build_initialised_model(config: Union[str, Config]) -> torch.nn.Module:
    """The model of ``config`` with its configured initialisation (``init_cfg``) applied:
    what training starts from. (``init_model`` drops the backbone's ``init_cfg``.)"""
    cfg = load_config(config)
    model = build_model_part(cfg.model, config_task(cfg))
    if config_task(cfg) == 'mmpose':
        check_keypoint_count(model, config_dataset_metas(cfg), cfg.filename)
    model.init_weights()
    return model.eval()


def config_dataset_metas(cfg: Config) -> dict:
    """The metainfo of each data set of a pose config (``'train'``, ``'val'``, ``'test'``:
    MMPose's ``dataset_meta_from_config``; those it cannot read are left out)."""
    from mmpose.apis.inference import dataset_meta_from_config
    metas = {}
    for split in ('train', 'val', 'test'):
        if cfg.get(f'{split}_dataloader') is None:
            continue
        with DefaultScope.overwrite_default_scope('mmpose'):
            meta = dataset_meta_from_config(cfg, split)
        if meta is not None:
            metas[split] = meta
    return metas


def check_keypoint_count(model: torch.nn.Module, dataset_metas: dict, source: str) -> None:
    """Raise ``ValueError`` when a pose model's head predicts another number of keypoints
    (its ``out_channels``) than a data set of ``dataset_metas`` (split -> metainfo) defines,
    naming both numbers: trained, such a model would fail in the loss or score keypoints
    against the wrong ones."""
    head = getattr(getattr(model, 'module', model), 'head', None)
    out_channels = getattr(head, 'out_channels', None)
    if not isinstance(out_channels, int):
        return  # no keypoint head (a segmentor), or a head that names no single count
    for split, meta in dataset_metas.items():
        num = meta.get('num_keypoints')
        if num is not None and num != out_channels:
            name = meta.get('dataset_name', 'its data set')
            raise ValueError(
                f'{source}: the head predicts {out_channels} keypoints (model.head.out_channels='
                f'{out_channels}) but the {split} data set ({name}) defines {num}. Set '
                f'model.head.out_channels={num}, or use the data set the head was made for.')


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


Mismatch = Tuple[str, Tuple[int, ...], Tuple[int, ...]]


def _as_model_sees_it(model: torch.nn.Module, state_dict: dict) -> 'OrderedDict[str, object]':
    """``state_dict`` after the key changes a load makes: MMEngine's default ``module.``
    stripping, then the model's own load pre-hooks (MMPose's pose estimators rename MMPose 0.x
    ``keypoint_head.`` keys there), applied to a copy; nothing is loaded."""
    converted = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    for hook in model._load_state_dict_pre_hooks.values():
        hook(converted, '', {}, True, [], [], [])
    return converted


def compare_state_dict(model: torch.nn.Module, state_dict: dict,
                       ignore: Sequence[Pattern] = ()) -> Tuple[List[str], List[str],
                                                                List[Mismatch]]:
    """Missing keys, unexpected keys and ``(key, checkpoint shape, model shape)`` of the keys
    whose shapes differ, leaving out keys that match a pattern of ``ignore``."""
    kept = lambda key: not any(p.search(key) for p in ignore)  # noqa: E731
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if kept(k)}
    loaded = {k: tuple(getattr(v, 'shape', ())) for k, v in
              _as_model_sees_it(model, state_dict).items() if kept(k)}
    missing = [k for k in expected if k not in loaded]
    unexpected = [k for k in loaded if k not in expected]
    mismatched = [(k, loaded[k], expected[k]) for k in expected
                  if k in loaded and loaded[k] != expected[k]]
    return missing, unexpected, mismatched


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: dict, source: str,
                          ignore: Sequence[Pattern] = ()) -> None:
    """Raise ``RuntimeError`` naming ``source`` and the first differing keys (and shapes) when
    ``checkpoint`` (an MMEngine checkpoint or a bare state dict) does not fit ``model``."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    missing, unexpected, mismatched = compare_state_dict(model, state_dict, ignore)
    if missing or unexpected or mismatched:
        shapes = [f'{k}: {tuple(a)} in the checkpoint, {tuple(b)} in the model'
                  for k, a, b in mismatched]
        raise RuntimeError(
            f'{source} does not match the model ({type(model).__name__}): '
            f'{len(missing)} missing keys {_head(missing)}, {len(unexpected)} unexpected '
            f'keys {_head(unexpected)}, {len(mismatched)} keys of another shape '
            f'{_head(shapes)}. Check that the config (arch, with_head, neck, number of '
            f'keypoints or classes) is the one the checkpoint was trained with, or allow the '
            f'difference with StrictCheckpointHook(ignore=[...]).')


def _head(keys: List[str], n: int = 5) -> str:
    return str(keys[:n])[:-1] + (', ...]' if len(keys) > n else ']')
