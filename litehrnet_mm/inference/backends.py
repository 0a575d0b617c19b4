"""The backends that run a model's runtime part (:class:`~.artefacts.RuntimePart`) for the
fast estimator and segmentor:

- ``'pytorch'``: the deploy form in eager PyTorch (any device, any size);
- ``'compiled'``: an AOTInductor package of the deploy form (CPU), one per input size, built
  on first use and cached: later runs load it in milliseconds instead of compiling;
- ``'onnxruntime'`` and ``'openvino'``: an ONNX export of the deploy form (CPU), built on
  first use and cached. Pose graphs are exported for their input size, segmentation graphs
  with free height and width (multiples of 32). OpenVINO compiles the file for each input
  shape it meets (``static_shapes``, see :data:`~litehrnet_mm.deploy.runtimes.OPENVINO_SHAPES`).

A backend is given as a name or a dict ``dict(type=NAME, **options)``; the options are those
of :data:`BACKEND_OPTIONS`. ``artefact`` runs a file built before (by this module, e.g. with
``tools/infer.py --cache-dir``) instead of the cache; it is checked against the model.
"""
import importlib.util
import itertools
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
import torch

from . import artefacts

#: each backend's options and their defaults
BACKEND_OPTIONS: Dict[str, dict] = {
    'pytorch': {},
    'compiled': dict(artefact=None, cache_dir=None, max_batch=1),
    'onnxruntime': dict(artefact=None, cache_dir=None, threads=None),
    'openvino': dict(artefact=None, cache_dir=None, threads=None, precision='f32',
                     static_shapes=True),
}
BACKENDS = tuple(BACKEND_OPTIONS)
#: the Python packages each backend needs: to run, and to build its artefact
_NEEDS = {'onnxruntime': (('onnxruntime', 'onnxruntime'), ('onnx', 'onnx')),
          'openvino': (('openvino', 'openvino'), ('onnx', 'onnx'))}
_NEEDS_TO_BUILD = {'onnxruntime': (('onnxscript', 'onnxscript'), ),
                   'openvino': (('onnxscript', 'onnxscript'), )}

BackendSpec = Union[None, str, dict]


def parse_backend(spec: BackendSpec) -> dict:
    """``spec`` as ``dict(type=..., **options)`` with every option filled in; refuses an
    unknown backend or option, and a backend whose Python package is not installed (naming
    the pip command), before any work."""
    if spec is None:
        spec = 'pytorch'
    if isinstance(spec, str):
        spec = dict(type=spec)
    if not isinstance(spec, dict) or 'type' not in spec:
        raise TypeError(f"backend must be a name or a dict with 'type', got {spec!r}")
    spec = dict(spec)
    kind = spec.pop('type')
    if kind not in BACKEND_OPTIONS:
        raise ValueError(f'unknown backend {kind!r}: choose one of {", ".join(BACKENDS)}')
    unknown = sorted(set(spec) - set(BACKEND_OPTIONS[kind]))
    if unknown:
        raise ValueError(f'backend {kind!r} takes the options '
                         f'{sorted(BACKEND_OPTIONS[kind]) or "(none)"}, got {unknown}')
    options = {**BACKEND_OPTIONS[kind], **spec}
    needs = _NEEDS.get(kind, ()) + (_NEEDS_TO_BUILD.get(kind, ()) if not options.get(
        'artefact') else ())
    for module, package in needs:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f'backend {kind!r} needs the Python package {package}, which is '
                              f'not installed: pip install {package}')
    if kind == 'compiled' and (not isinstance(options['max_batch'], int)
                               or options['max_batch'] < 1):
        raise ValueError(f'max_batch must be a positive int, got {options["max_batch"]!r}')
    if kind == 'openvino' and options['precision'] not in ('f32', 'bf16'):
        raise ValueError(f"openvino precision must be 'f32' or 'bf16', got "
                         f"{options['precision']!r}")
    if kind == 'openvino' and not isinstance(options['static_shapes'], bool):
        raise ValueError(f"openvino static_shapes must be True or False, got "
                         f"{options['static_shapes']!r}")
    if options.get('artefact'):
        artefacts.check_artefact_file(options['artefact'], kind)
    return dict(type=kind, **options)


Runner = Callable[[torch.Tensor], Tuple[torch.Tensor, ...]]


class Runtime:
    """Runs ``graph`` of a model with a backend; built on the first call, rebuilt when the
    model's weights change (a checkpoint loaded after the first call)."""

    def __init__(self, spec: BackendSpec, graph: str, dynamic: bool):
        self.spec = parse_backend(spec)
        self.kind = self.spec['type']
        self.graph = graph
        self.dynamic = dynamic and self.kind != 'compiled'
        if self.spec.get('artefact'):  # its graph and file type, before the weights load
            artefacts.check_artefact_kind(self.spec['artefact'], graph, self.kind)
        self._runners: Dict[Optional[Tuple[int, int]], Runner] = {}
        self._stamp = None
        #: per built runner: the artefact, whether it was built now, and the seconds it took
        self.log = []

    def __deepcopy__(self, memo):  # sessions and packages do not copy: build them again
        return Runtime(self.spec, self.graph, self.dynamic)

    def __getstate__(self):
        return dict(spec=self.spec, graph=self.graph, dynamic=self.dynamic)

    def __setstate__(self, state):
        self.__init__(state['spec'], state['graph'], state['dynamic'])

    def check_device(self, device: torch.device) -> None:
        """Refuse a device other than the CPU for the CPU backends."""
        if self.kind != 'pytorch' and torch.device(device).type != 'cpu':
            raise RuntimeError(f'backend {self.kind!r} runs on the CPU, not on {device}: build '
                               f'the model with device="cpu", or use backend "pytorch"')

    def __call__(self, model: torch.nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_device(x.device)
        stamp = _weights_stamp(model)
        if stamp != self._stamp:  # new weights: nothing built so far serves them
            self._runners.clear()
            self._stamp = stamp
        key = None if self.dynamic or self.kind == 'pytorch' else artefacts.size_of(x)
        if key not in self._runners:
            self._runners[key] = self._build(model, x)
        return self._runners[key](x)

    def _build(self, model: torch.nn.Module, x: torch.Tensor) -> Runner:
        start = time.perf_counter()
        if self.kind == 'pytorch':
            part = artefacts.deploy_part(model, self.graph).to(x.device)
            self.log.append(dict(artefact=None, built=True,
                                 seconds=time.perf_counter() - start))

            def run_pytorch(x):
                with torch.no_grad():
                    out = part(x)
                return out if isinstance(out, tuple) else (out, )
            return run_pytorch
        h, w = artefacts.size_of(x)
        expected = artefacts.make_record(model, self.graph, self.kind, h, w, self.dynamic,
                                         max_batch=self.spec.get('max_batch'))
        path, built = self.spec['artefact'], False
        if path:
            artefacts.check_artefact(path, expected)
        else:
            path = artefacts.cache_path(expected, self.spec['cache_dir'])
            if not (osp.isfile(path) and artefacts.same_record(artefacts.read_record(path),
                                                               expected)):
                self._write(model, path, expected, h, w)
                built = True
        self.log.append(dict(artefact=path, built=built, seconds=time.perf_counter() - start))
        if self.kind == 'compiled':
            return _package_runner(path)
        return _onnx_runner(self.kind, path, self.spec)

    def _write(self, model, path: str, record: dict, h: int, w: int) -> None:
        """Build the artefact into a temporary file beside ``path``, then move it there (an
        interrupted build leaves no half-written artefact in the cache)."""
        from ..deploy import build_package, export_module
        os.makedirs(osp.dirname(path), exist_ok=True)
        stem, suffix = osp.splitext(path)
        tmp = f'{stem}.tmp{os.getpid()}{suffix}'
        part = artefacts.deploy_part(model, self.graph)
        try:
            if self.kind == 'compiled':
                build_package(part, tmp, h, w, in_channels=3, max_batch=self.spec['max_batch'],
                              metadata=record)
            else:
                export_module(part, tmp, h, w, dynamic=self.dynamic, runtime=self.kind,
                              metadata=record)
            os.replace(tmp, path)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)


def _weights_stamp(model: torch.nn.Module) -> tuple:
    """Changes when a parameter or buffer is replaced or written in place (loading a
    checkpoint, an optimiser step): the tensors' identities and version counters."""
    tensors = itertools.chain(model.parameters(), model.buffers())
    return tuple((id(t), t._version) for t in tensors)


def _package_runner(path: str) -> Runner:
    """Runs a package, splitting batches larger than it takes."""
    from ..deploy import PackagedModel
    package = PackagedModel(path)
    max_batch = package.input['max_batch']

    def run_package(x):
        outs = [package(chunk) for chunk in x.split(max_batch)]
        outs = [o if isinstance(o, (tuple, list)) else (o, ) for o in outs]
        return tuple(torch.cat(parts) if len(parts) > 1 else parts[0] for parts in zip(*outs))
    return run_package


def _onnx_runner(kind: str, path: str, spec: dict) -> Runner:
    from ..deploy.runtimes import runner
    options = ({k: spec[k] for k in ('precision', 'static_shapes')} if kind == 'openvino'
               else {})
    run = runner(kind, path, threads=spec['threads'], **options)

    def run_onnx(x):
        arrays = run(np.ascontiguousarray(x.detach().numpy(), dtype=np.float32))
        return tuple(torch.from_numpy(a) for a in arrays)
    return run_onnx
