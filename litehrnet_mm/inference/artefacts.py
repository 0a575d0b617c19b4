"""What a backend's artefact (ONNX file, AOTInductor package) is built from, recorded in it and
checked before it runs; where built artefacts are cached.

An artefact runs one part of the model, named by its ``graph`` (:mod:`.parts`). The record
names the config (the sha256 of the config dicts of the parts in the graph, and the file), the
weights (the sha256 of the parts' state dict: the same checkpoint gives the same
hash wherever it is stored), the input size, torch, the runtime and, for packages, the CPU.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from ..backends import (BACKENDS, ArtefactBackend, Backend, backend_class, backends_for_file,
                        make_backend)
from ..deprecation import moved_names
from ..version import __version__
from .parts import GRAPH_PARTS, GraphPart

__all__ = ['CACHE_ENV', 'weights_sha256', 'config_sha256', 'file_sha256', 'make_record',
           'cache_dir', 'cache_path', 'read_record', 'kind_mismatches', 'mismatches',
           'check_artefact_kind', 'check_artefact_file', 'check_artefact', 'size_of',
           'same_record']

CACHE_ENV = 'LITEHRNET_MM_CACHE'
__getattr__ = moved_names(__name__, {
    'RuntimePart': 'litehrnet_mm.inference.parts:GraphPart',
    'deploy_part': 'litehrnet_mm.inference.parts',
    'tensor_graph': 'litehrnet_mm.inference.parts',
})


def weights_sha256(model: nn.Module, graph: str) -> str:
    """sha256 of the state dict (names, dtypes, shapes, values) of ``graph``'s parts."""
    digest = hashlib.sha256()
    for key, value in GraphPart(model, graph).state_dict().items():
        t = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f'{key}:{t.dtype}:{tuple(value.shape)};'.encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return digest.hexdigest()


def config_sha256(cfg_model: dict, graph: str) -> str:
    """sha256 of the config dicts of ``graph``'s parts (``cfg.model`` of the config), without
    their ``init_cfg`` and ``pretrained`` (which MMPose's and MMSeg's ``init_model`` drop or keep
    depending on the route, and which loaded weights override)."""
    parts = {}
    for name in GRAPH_PARTS[graph]:
        part = _plain(cfg_model.get(name))
        if isinstance(part, dict):
            part = {k: v for k, v in part.items() if k not in ('init_cfg', 'pretrained')}
        parts[name] = part
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()


def _plain(x):
    """A config value as plain dicts and lists, without the ``_scope_`` keys MMEngine adds."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items() if k != '_scope_'}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def file_sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, 'sha256').hexdigest()


def _backend(backend: Union[str, Backend], max_batch: Optional[int]) -> Backend:
    """``backend``, or the backend of that name (only its options: nothing is required to
    be installed for a record); ``max_batch`` for the backends that take it."""
    if isinstance(backend, Backend):
        return backend
    options = {}
    if max_batch is not None and 'max_batch' in backend_class(backend).options_class.names():
        options['max_batch'] = max_batch
    return make_backend(dict(type=backend, **options), build=False)


def make_record(model: nn.Module, graph: str, backend: Union[str, Backend], height: int,
                width: int, dynamic: bool = False, config_file: Optional[str] = None,
                checkpoint_sha256: Optional[str] = None, max_batch: Optional[int] = None
                ) -> dict:
    """What an artefact of ``model``'s ``graph`` for ``backend`` (a name or a backend) is built
    from (see the module docstring). ``model.cfg`` (set by ``init_model``) gives the config;
    ``max_batch`` is a package's largest batch (the ``'compiled'`` backend's option)."""
    cfg = getattr(model, 'cfg', None)
    if cfg is None or 'model' not in cfg:
        raise ValueError('the model has no .cfg with a model dict: build it with MMPose\'s or '
                         'MMSeg\'s init_model (or litehrnet_mm.builder.build_model)')
    backend = _backend(backend, max_batch)
    runtime = backend.runtime_version() if isinstance(backend, ArtefactBackend) else None
    record = dict(format=1, litehrnet_mm=__version__, graph=graph, backend=backend.name,
                  config=dict(file=config_file or getattr(cfg, 'filename', None),
                              sha256=config_sha256(cfg.model, graph)),
                  weights_sha256=weights_sha256(model, graph),
                  input=dict(height=height, width=width, dynamic=dynamic),
                  torch=torch.__version__, runtime=runtime)
    if checkpoint_sha256:
        record['checkpoint_sha256'] = checkpoint_sha256
    if isinstance(backend, ArtefactBackend):
        backend.complete_record(record)
    return record


def cache_dir(directory: Optional[str] = None) -> str:
    """Where built artefacts are kept: ``directory``, else ``$LITEHRNET_MM_CACHE``, else
    ``~/.cache/litehrnet-mm/artefacts``."""
    return osp.abspath(osp.expanduser(
        directory or os.environ.get(CACHE_ENV) or '~/.cache/litehrnet-mm/artefacts'))


def _key_fields(record: dict) -> dict:
    """The fields that decide whether a cached artefact serves (not the config file name)."""
    fields = {k: v for k, v in record.items() if k not in ('config', 'checkpoint_sha256')}
    fields['config'] = record['config']['sha256']
    if record['input'].get('dynamic'):  # serves any size: the traced one does not matter
        fields['input'] = {k: v for k, v in record['input'].items()
                           if k not in ('height', 'width')}
    if 'cpu' in fields:
        fields['cpu'] = dict(model=fields['cpu']['model'], isa=fields['cpu']['isa'])
    return fields


def cache_path(record: dict, directory: Optional[str] = None) -> str:
    """The cache file of an artefact with ``record``: the key hashes the weights, the config,
    the input size, the graph and backend, torch, the runtime and (packages) the CPU."""
    key = hashlib.sha256(json.dumps(_key_fields(record), sort_keys=True).encode()).hexdigest()
    size = 'any-size' if record['input']['dynamic'] else \
        f'{record["input"]["height"]}x{record["input"]["width"]}'
    name = f'{record["graph"]}-{record["backend"]}-{size}-{key[:24]}'
    return osp.join(cache_dir(directory), name + backend_class(record['backend']).suffix)


def read_record(path: str) -> Optional[dict]:
    """The record stored in an artefact (None when it has none)."""
    readers = backends_for_file(path)
    if not readers:
        raise ValueError(f'{path} is not an artefact of any backend (no backend runs files '
                         f'with its suffix)')
    return readers[0].read_record(path)


def kind_mismatches(record: Optional[dict], graph: str, backend: str) -> List[str]:
    """How an artefact's ``record`` differs in what it is (its graph, its file type) from what
    ``graph`` and ``backend`` need: checkable before the model has its weights."""
    if record is None:
        return ['it records nothing of what it was built from (not built by litehrnet-mm '
                '0.1 or later)']
    problems = []
    if record.get('graph') != graph:
        problems.append(f'it runs the {record.get("graph")!r} graph, the model needs '
                        f'{graph!r}' + (
                            ' (tools/export_onnx.py exports the whole pose model; the fast '
                            'estimator runs backbone and neck)'
                            if record.get('graph') == 'heatmaps' else ''))
    if getattr(BACKENDS.get(record.get('backend')), 'suffix', None) != \
            backend_class(backend).suffix:
        problems.append(f'it was built for backend {record.get("backend")!r}, which backend '
                        f'{backend!r} cannot run')
    return problems


def mismatches(record: Optional[dict], expected: dict) -> List[str]:
    """How an artefact's ``record`` differs from what ``expected`` needs, in words (empty
    when it serves)."""
    problems = kind_mismatches(record, expected['graph'], expected['backend'])
    if record is None:
        return problems
    if record.get('config', {}).get('sha256') != expected['config']['sha256']:
        problems.append(f'it was built from another config ({record.get("config", {}).get("file")}'
                        f'; its backbone/neck/head settings differ from '
                        f'{expected["config"]["file"]})')
    if record.get('weights_sha256') != expected['weights_sha256']:
        problems.append(f'it was built from other weights (sha256 '
                        f'{str(record.get("weights_sha256"))[:12]}..., the model\'s '
                        f'{expected["weights_sha256"][:12]}...)')
    size, want = record.get('input', {}), expected['input']
    if want.get('dynamic') and not size.get('dynamic'):
        problems.append(f'it was exported for {size.get("height")}x{size.get("width")} inputs '
                        f'only, the model needs any multiple of 32 (segmentation pads images '
                        f'to multiples of 32): export it with --dynamic')
    elif not size.get('dynamic') and (size.get('height'), size.get('width')) != \
            (want['height'], want['width']):
        problems.append(f'it was built for {size.get("height")}x{size.get("width")} inputs, '
                        f'the model is given {want["height"]}x{want["width"]}')
    return problems


def check_artefact_kind(path: str, graph: str, backend: str) -> None:
    """Refuse, before the model has its weights, an artefact that records nothing, or records
    another graph or a file type ``backend`` does not run."""
    problems = kind_mismatches(read_record(path), graph, backend)
    if problems:
        raise ValueError(f'{path} cannot serve this model: ' + '; '.join(problems))


def check_artefact_file(path: str, backend: str) -> None:
    """Refuse a missing artefact, or a file of a type ``backend`` does not run."""
    backend_class(backend).check_file(path)


def check_artefact(path: str, expected: dict) -> dict:
    """The record of the artefact at ``path``, after checking it serves ``expected``; raises
    ``ValueError`` naming each problem otherwise."""
    check_artefact_file(path, expected['backend'])
    record = read_record(path)
    problems = mismatches(record, expected)
    if problems:
        raise ValueError(f'{path} cannot serve this model: ' + '; '.join(problems) +
                         '. Leave `artefact` unset to build one for it (cached), or pass the '
                         'config and checkpoint it was built from')
    return record


def size_of(x: torch.Tensor) -> Tuple[int, int]:
    return int(x.shape[-2]), int(x.shape[-1])


def same_record(found: Optional[dict], expected: Dict) -> bool:
    """Whether a cached file's record has every key field of ``expected`` (a package adds
    fields of its own to what it was given)."""
    return found is not None and _contains(_key_fields(found), _key_fields(expected))


def _contains(found, expected) -> bool:
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(k in found and _contains(found[k], v)
                                               for k, v in expected.items())
    return found == expected
