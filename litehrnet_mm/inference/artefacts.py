"""What a backend's artefact (ONNX file, AOTInductor package) is built from, recorded in it and
checked before it runs; where built artefacts are cached.

An artefact runs one part of the model, named by its ``graph`` (:mod:`.parts`). The record
names the config (the sha256 of the config dicts of the parts in the graph, and the file), the
weights (the sha256 of the parts' state dict: the same checkpoint gives the same
hash wherever it is stored), the code that shapes the artefact (the sha256 of the sources of
the models, the deploy form, its kernel and the backends), the input size, torch, the runtime
and, for packages, the CPU and whether they call the hand-written kernel.

The cache trusts nothing a file says of itself. It writes each artefact with a sidecar that
holds the file's sha256 (``NAME.sha256``, in ``sha256sum``'s format) and checks it, and the
record, before the file serves: a file that does not match, does not read or records another
model is moved aside (``NAME.bad-TIME``) and built again, with one warning naming it. An
AOTInductor package is a shared library (loading it runs its native code), so the cache
folder must be the user's own and writable by no one else; it is created ``0700``. Processes
that need the same artefact take turns on a lock per file: one builds, the others wait and
load it.
"""
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import stat
import time
import warnings
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from ..backends import (BACKENDS, ArtefactBackend, Backend, backend_class, backends_for_file,
                        make_backend)
from ..deprecation import moved_names
from ..fileio import atomic_path
from ..version import __version__
from .parts import GRAPH_PARTS, GraphPart

__all__ = ['CACHE_ENV', 'weights_sha256', 'config_sha256', 'code_sha256', 'file_sha256',
           'make_record', 'cache_dir', 'checked_cache_dir', 'cache_path', 'read_record',
           'kind_mismatches', 'mismatches', 'check_artefact_kind', 'check_artefact_file',
           'check_artefact', 'size_of', 'same_record', 'sidecar_path', 'write_sidecar',
           'verify_sidecar', 'cached_artefact_serves']

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


_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: the sources that shape an artefact (relative to the package)
CODE = ('models/**/*.py', 'deploy/**/*.py', 'deploy/csrc/*.cpp', 'backends/*.py',
        'inference/parts.py')


@functools.lru_cache(maxsize=None)
def code_sha256() -> str:
    """sha256 of :data:`CODE`'s files (their paths and contents): an upgrade that changes how
    artefacts are made changes it, so that older artefacts are not served."""
    digest = hashlib.sha256()
    files = sorted({f for pattern in CODE
                    for f in glob.glob(osp.join(_PACKAGE, pattern), recursive=True)})
    for path in files:
        digest.update(osp.relpath(path, _PACKAGE).encode() + b'\0')
        with open(path, 'rb') as f:
            digest.update(f.read() + b'\0')
    return digest.hexdigest()


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
    ``max_batch`` is a package's largest batch (the ``'compiled'`` backend's option); a fast
    model an MMEngine runner built (no ``cfg``) gives the arguments it was built with."""
    cfg = getattr(model, 'cfg', None)
    if cfg is not None and 'model' in cfg:
        cfg_model, cfg_file = cfg.model, getattr(cfg, 'filename', None)
    elif getattr(model, 'model_cfg', None) is not None:  # a fast model a runner built
        cfg_model, cfg_file = model.model_cfg, None
    else:
        raise ValueError('the model has no .cfg with a model dict: build it with MMPose\'s or '
                         'MMSeg\'s init_model (or litehrnet_mm.builder.build_model)')
    backend = _backend(backend, max_batch)
    runtime = backend.runtime_version() if isinstance(backend, ArtefactBackend) else None
    record = dict(format=1, litehrnet_mm=__version__, graph=graph, backend=backend.name,
                  config=dict(file=config_file or cfg_file,
                              sha256=config_sha256(cfg_model, graph)),
                  weights_sha256=weights_sha256(model, graph),
                  input=dict(height=height, width=width, dynamic=dynamic),
                  torch=torch.__version__, runtime=runtime, code_sha256=code_sha256())
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


def checked_cache_dir(directory: Optional[str] = None) -> str:
    """:func:`cache_dir`, created (``0700``) where it is not there, refused where another user
    owns it or others may write into it: an artefact there could run their code."""
    path = cache_dir(directory)
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if info.st_uid != os.getuid():
        raise PermissionError(f'artefact cache {path} belongs to user id {info.st_uid}, not to '
                              f'you ({os.getuid()}): its files (packages are native code) '
                              f'could run another user\'s code. Use a folder of your own '
                              f'(cache_dir=, --cache-dir or ${CACHE_ENV})')
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(f'artefact cache {path} is writable by others (mode '
                              f'{stat.S_IMODE(info.st_mode):o}): anyone could put code there. '
                              f'Make it yours alone (chmod go-w {path}) or use another folder')
    return path


def sidecar_path(path: str) -> str:
    """The file that holds ``path``'s sha256."""
    return path + '.sha256'


def write_sidecar(path: str, source: Optional[str] = None) -> str:
    """Write the sha256 of ``source`` (default ``path``: the file it will be once renamed)
    beside ``path``, in ``sha256sum``'s format; returns the sidecar."""
    sidecar = sidecar_path(path)
    with atomic_path(sidecar) as tmp, open(tmp, 'w') as f:
        f.write(f'{file_sha256(source or path)}  {osp.basename(path)}\n')
    return sidecar


def verify_sidecar(path: str) -> Optional[str]:
    """Why ``path`` does not match its sidecar (None when it does); a missing sidecar is a
    reason."""
    sidecar = sidecar_path(path)
    try:
        with open(sidecar) as f:
            expected = f.read().split()[0]
    except (OSError, IndexError) as e:
        return f'has no readable sha256 ({sidecar}: {type(e).__name__})'
    actual = file_sha256(path)
    if actual != expected:
        return (f'does not match its sha256 (the file {actual[:12]}..., {sidecar} '
                f'{expected[:12]}...)')
    return None


def _move_aside(path: str, why: str) -> None:
    aside = f'{path}.bad-{time.strftime("%Y%m%d-%H%M%S")}'
    os.replace(path, aside)
    if osp.exists(sidecar_path(path)):
        os.replace(sidecar_path(path), sidecar_path(aside))
    warnings.warn(f'litehrnet_mm: the cached artefact {path} {why}; moved it to {aside} and '
                  f'building it again', RuntimeWarning, stacklevel=3)


def cached_artefact_serves(path: str, expected: dict) -> bool:
    """Whether the cache file ``path`` serves ``expected``: it matches its sha256, its record
    reads and has every key field of ``expected``. A file that fails the first two is moved
    aside with a warning (the caller builds it again)."""
    if not osp.exists(path):
        return False
    why = verify_sidecar(path)
    record = None
    if why is None:
        try:
            record = read_record(path)
        except Exception as e:  # a damaged archive or ONNX file, an unparseable record
            why = f'has a record that does not read ({type(e).__name__}: {e})'
    if why is not None:
        _move_aside(path, why)
        return False
    return same_record(record, expected)


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


def _check_sidecar(path: str) -> None:
    """Refuse a given artefact that does not match its sidecar's sha256 (where it has one)."""
    if osp.exists(sidecar_path(path)):
        why = verify_sidecar(path)
        if why is not None:
            raise ValueError(f'{path} {why}: it changed after it was built; build it again')


def check_artefact_kind(path: str, graph: str, backend: str) -> None:
    """Refuse, before the model has its weights, an artefact that does not match its sha256
    (where it has a sidecar), that records nothing, or records another graph or a file type
    ``backend`` does not run."""
    _check_sidecar(path)
    problems = kind_mismatches(read_record(path), graph, backend)
    if problems:
        raise ValueError(f'{path} cannot serve this model: ' + '; '.join(problems))


def check_artefact_file(path: str, backend: str) -> None:
    """Refuse a missing artefact, or a file of a type ``backend`` does not run."""
    backend_class(backend).check_file(path)


def check_artefact(path: str, expected: dict) -> dict:
    """The record of the artefact at ``path``, after checking it serves ``expected`` and,
    where it has a sidecar with its sha256 (the cache's, the tools'), that it matches it;
    raises ``ValueError`` naming each problem otherwise."""
    check_artefact_file(path, expected['backend'])
    _check_sidecar(path)
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
