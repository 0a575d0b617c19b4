"""Checkpoint loading through MMEngine that runs no code from the checkpoint.

Every checkpoint MMEngine loads (``load_from``, resume, ``init_model``,
``init_cfg=dict(type='Pretrained')``, inferencers) goes through its ``CheckpointLoader``.
Importing ``litehrnet_mm`` registers these loaders there, for every scheme MMEngine knows:

- files, and the bytes that MMEngine's ``pavi://``, ``s3://`` and ``petrel://`` backends
  fetch, are read with ``torch.load(weights_only=True)`` and the allow-list of
  :mod:`litehrnet_mm.weights_only`, even where ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set; a
  refused file raises an error naming it;
- the config texts a checkpoint carries (``meta['config']``, ``meta['cfg']`` and the message
  hub's ``runtime_info['cfg']``) are dropped: they are Python source, which MMEngine runs
  (``Runner.resume`` runs ``meta['config']``, an inferencer without a config the others);
- URLs (``http(s)://``, and the ``open-mmlab://``, ``openmmlab://``, ``mmcls://``,
  ``torchvision://`` and ``modelzoo://`` names MMEngine maps to URLs) are loaded only when the
  file name carries the hash that OpenMMLab and torch name their files with
  (``...-6bace359_20211230.pth``, ``...-0676ba61.pth``: the first hex digits of the file's
  SHA-256); the download (written to torch's hub cache by a rename) and the cached file are
  checked against it. MMEngine's own loaders load URLs with ``weights_only=False`` and check
  nothing.

Inferencers built without a config (``BaseInferencer(model=None, weights=...)``) are refused,
naming the checkpoint: they would build the model from the checkpoint's config text.
"""
import functools
import hashlib
import io
import os
import os.path as osp
import pickle
import re
import tempfile
from typing import Any, BinaryIO, Optional, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.infer import BaseInferencer
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from ..weights_only import check_numpy_data

#: Where checkpoints keep config texts (Python source): dropped when loading.
CONFIG_TEXTS = (('meta', 'config'), ('meta', 'cfg'), ('message_hub', 'runtime_info', 'cfg'))
#: ``-<hex>`` before ``.`` or ``_`` in a file name: OpenMMLab's and torch's hash prefix.
NAME_HASH = re.compile(r'-([0-9a-f]{8,64})(?=[._])')


def drop_config_texts(checkpoint: Any) -> Any:
    """Remove the config texts (:data:`CONFIG_TEXTS`) from a loaded checkpoint, in place."""
    for *parents, key in CONFIG_TEXTS:
        node = checkpoint
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(key, None)
    return checkpoint


def _checked(checkpoint: Any, source: str) -> Any:
    check_numpy_data(checkpoint, source)
    return drop_config_texts(checkpoint)


def _load(source: Union[str, BinaryIO], filename: str, map_location: Any) -> Any:
    """``torch.load(source, weights_only=True)``, refusals naming ``filename``; without
    config texts."""
    try:
        checkpoint = torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).split('WeightsUnpickler error: ')[-1].split('\n')[0]
        raise pickle.UnpicklingError(
            f'refused to load checkpoint {filename}: {reason}. Checkpoints load with '
            'torch.load(weights_only=True) and litehrnet_mm\'s allow-list, which admits what '
            'MMEngine checkpoints hold and nothing that runs code. Load it with '
            'weights_only=False (and save its state_dict) only if you trust its source.'
        ) from None
    return _checked(checkpoint, filename)


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """A local checkpoint file, loaded with ``weights_only=True``, without config texts."""
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return _load(path, filename, map_location)


def load_from_url(url: str, map_location: Any = None, model_dir: Optional[str] = None) -> Any:
    """A checkpoint from a URL whose file name carries its hash, checked, through torch's hub
    cache (downloaded by the first process only when distributed)."""
    name = osp.basename(urlparse(url).path)
    hashes = NAME_HASH.findall(name)
    if not hashes:
        raise ValueError(
            f'refused to download {url}: its file name has no -<hash> part (the first hex '
            'digits of its SHA-256, as in litehrnet18_coco_256x192-6bace359_20211230.pth), so '
            'the download cannot be checked. Download it, check it, and give the local path.')
    expected = hashes[-1]
    path = osp.join(model_dir or osp.join(torch.hub.get_dir(), 'checkpoints'), name)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, path, hash_prefix=expected, progress=False)
        except RuntimeError as e:
            raise ValueError(f'refused {url}: {e}; nothing was saved') from None
    if world_size > 1:
        torch.distributed.barrier()
    with open(path, 'rb') as f:
        digest = hashlib.file_digest(f, 'sha256').hexdigest()
    if not digest.startswith(expected):
        raise ValueError(f'{path}, the cached download of {url}, does not match the hash '
                         f'{expected} in its name: delete it and load again')
    return load_from_local(path, map_location)


def _named_url(table: dict, filename: str) -> str:
    name = filename.split('://', 1)[1]
    if name not in table:
        raise KeyError(f'{filename}: unknown name; MMEngine knows {sorted(table)[:10]}, ...')
    return table[name]


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """``torchvision://NAME`` or ``modelzoo://NAME``: torchvision's URL for NAME."""
    url = _named_url(mmengine_checkpoint.get_torchvision_models(), filename)
    return load_from_url(url, map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://NAME`` or ``openmmlab://NAME``: MMEngine's table of OpenMMLab files."""
    scheme, name = filename.split('://', 1)
    name = mmengine_checkpoint.get_deprecated_model_names().get(name, name)
    url = _named_url(mmengine_checkpoint.get_external_models(), f'{scheme}://{name}')
    if url.startswith(('http://', 'https://')):
        return load_from_url(url, map_location)
    return load_from_local(osp.join(mmengine_checkpoint._get_mmengine_home(), url),
                           map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """``mmcls://NAME``: an MMClassification checkpoint, its keys converted as MMEngine does."""
    url = _named_url(mmengine_checkpoint.get_mmcls_models(), filename)
    return mmengine_checkpoint._process_mmcls_checkpoint(load_from_url(url, map_location))


def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    """``pavi://PATH``: downloaded from PAVI's model cloud as MMEngine does, then loaded as a
    local file is."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError('Please install pavi to load checkpoint from modelcloud.') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, model.name)
        model.download(path)
        return _load(path, filename, map_location)


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Any:
    """``s3://`` and ``petrel://``: the bytes MMEngine's file backend fetches, loaded as a
    local file is."""
    file_backend = mmengine_checkpoint.get_file_backend(filename,
                                                        backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return _load(buffer, filename, map_location)


_original_inferencer_init_model = BaseInferencer._init_model


def _inferencer_init_model(self, cfg, weights: Optional[str], device: str = 'cpu'):
    if not cfg and weights is not None:
        raise ValueError(
            f'refused to build an inferencer from the checkpoint {weights} alone: the config '
            'stored in a checkpoint is Python source, which MMEngine would run. Give the '
            'config file too (model=CONFIG, or pose2d=CONFIG for MMPoseInferencer).')
    return _original_inferencer_init_model(self, cfg, weights, device)


def enable() -> None:
    """Register the loaders for every MMEngine scheme and refuse config-less inferencers
    (importing ``litehrnet_mm`` does it; calling again is harmless)."""
    register = functools.partial(CheckpointLoader.register_scheme, force=True)
    register('', load_from_local)
    register(('http://', 'https://'), load_from_url)
    register(('modelzoo://', 'torchvision://'), load_from_torchvision)
    register(('open-mmlab://', 'openmmlab://'), load_from_openmmlab)
    register('mmcls://', load_from_mmcls)
    register('pavi://', load_from_pavi)
    register([r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], load_from_ceph)
    BaseInferencer._init_model = _inferencer_init_model
