"""Runs a part of a model with a backend for the fast estimator and segmentor, building (or
finding in the cache) the backend's artefact for each input size it meets.

A backend's artefact is built on first use and cached (:mod:`.artefacts`); ``artefact=``
runs a file built before instead, checked against the model. Pose graphs are built for their
input size, segmentation graphs with free height and width (multiples of 32) where the backend
can (the ONNX backends; ``'compiled'`` builds one package per size).
"""
import itertools
import os
import os.path as osp
import tempfile
import time
from typing import Dict, Optional, Tuple

import torch

from ..backends import ArtefactBackend, BackendSpec, Runner, make_backend
from ..deploy.kernels import Watch, fingerprint
from ..fileio import file_lock, fsync_path
from ..stamps import same_stamp
from . import artefacts
from .parts import GRAPH_PARTS, GraphPart, deploy_part

__all__ = ['BackendRunner', 'weights_stamp']


class BackendRunner:
    """Runs ``graph`` of a model with a backend; built on the first call, rebuilt when the
    model's weights change (a checkpoint loaded after the first call, an EMA swap through
    ``.data``).

    Each call checks the weights with :func:`weights_stamp` over the graph's parameters and
    buffers, listed once per model and set of parts (``backbone``, ``neck``, ...: a part
    replaced is listed again) and again after the model is moved or converted
    (:meth:`forget_tensors`, which the fast models call from ``_apply``).

    Attributes:
        backend (Backend): The backend, with its options.
        log (list[dict]): Per runner built: the artefact (None for ``'pytorch'``), whether it
            was built now, and the seconds it took.
    """

    def __init__(self, spec: BackendSpec, graph: str, dynamic: bool):
        self.backend = make_backend(spec)
        self.graph = graph
        self.artefacts = isinstance(self.backend, ArtefactBackend)
        self.dynamic = dynamic and self.artefacts and self.backend.any_size
        artefact = self.backend.options.artefact if self.artefacts else None
        if artefact:  # its graph and file type, before the weights load
            artefacts.check_artefact_kind(artefact, graph, self.backend.name)
        self._runners: Dict[Optional[Tuple[int, int]], Runner] = {}
        self._stamp = None
        self._tensors = None  # (key, a Watch of the graph's parameters and buffers)
        self.log = []

    @property
    def spec(self) -> dict:
        """``dict(type=NAME, **options)``, every option filled in."""
        return dict(type=self.backend.name, **self.backend.options.as_dict())

    def __deepcopy__(self, memo):  # sessions and packages do not copy: build them again
        return BackendRunner(self.backend, self.graph, self.dynamic)

    def __getstate__(self):
        return dict(spec=self.spec, graph=self.graph, dynamic=self.dynamic)

    def __setstate__(self, state):
        self.__init__(state['spec'], state['graph'], state['dynamic'])

    def check_device(self, device: torch.device) -> None:
        """Refuse a device the backend cannot run on."""
        self.backend.check_device(device)

    def forget_tensors(self) -> None:
        """List the weights again on the next call (the model's buffers were replaced)."""
        self._tensors = None

    def _watched(self, model: torch.nn.Module) -> Watch:
        key = (id(model), *(id(getattr(model, name, None)) for name in GRAPH_PARTS[self.graph]))
        if self._tensors is None or self._tensors[0] != key:
            self._tensors = (key, Watch(graph_tensors(model, self.graph)))
        return self._tensors[1]

    def __call__(self, model: torch.nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_device(x.device)
        stamp = self._watched(model).stamp()
        if not same_stamp(stamp, self._stamp):  # new weights: nothing built so far serves
            self._runners.clear()
            self._stamp = stamp
        key = artefacts.size_of(x) if self.artefacts and not self.dynamic else None
        if key not in self._runners:
            self._runners[key] = self._make_runner(model, x)
        return self._runners[key](x)

    def _make_runner(self, model: torch.nn.Module, x: torch.Tensor) -> Runner:
        start = time.perf_counter()
        if not self.artefacts:
            runner = self.backend.run(deploy_part(model, self.graph).to(x.device))
            self.log.append(dict(artefact=None, built=True,
                                 seconds=time.perf_counter() - start))
            return runner
        h, w = artefacts.size_of(x)
        expected = artefacts.make_record(model, self.graph, self.backend, h, w, self.dynamic)
        path, built = self.backend.options.artefact, False
        if path:
            artefacts.check_artefact(path, expected)
        else:
            folder = artefacts.checked_cache_dir(self.backend.options.cache_dir)
            path = artefacts.cache_path(expected, folder)
            with file_lock(path + '.lock'):  # one process builds, the others wait, then load
                if not artefacts.cached_artefact_serves(path, expected):
                    self._build(model, path, expected, (h, w))
                    built = True
        self.log.append(dict(artefact=path, built=built, seconds=time.perf_counter() - start))
        return self.backend.load(path)

    def _build(self, model: torch.nn.Module, path: str, record: dict,
               size: Tuple[int, int]) -> None:
        """Build the artefact into a temporary file of its own beside ``path``, flush it to
        disk, write its sha256 beside ``path``, then move it there (an interrupted build
        leaves no half-written artefact in the cache)."""
        folder, name = osp.split(path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{name}.', suffix=osp.splitext(name)[1])
        os.close(fd)
        try:
            self.backend.build(deploy_part(model, self.graph), tmp, size, record,
                               dynamic=self.dynamic)
            fsync_path(tmp)
            artefacts.write_sidecar(path, source=tmp)  # first: a file in place has its sha256
            os.replace(tmp, path)
            fsync_path(folder)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)


def graph_tensors(model: torch.nn.Module, graph: str) -> list:
    """The parameters and buffers of ``graph``'s parts of ``model``."""
    part = GraphPart(model, graph)
    return list(itertools.chain(part.parameters(), part.buffers()))


def weights_stamp(model: torch.nn.Module, graph: str) -> Optional[torch.Tensor]:
    """Changes when the weights of ``graph``'s parts change, however they are written: a
    checkpoint loaded, an optimiser step, a write through ``.data`` (an EMA swap):
    :func:`~litehrnet_mm.deploy.kernels.fingerprint` of their parameters and buffers."""
    return fingerprint(graph_tensors(model, graph))
