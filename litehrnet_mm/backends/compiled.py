"""Compiled forms of the deploy model: ``torch.compile`` with inductor, and AOTInductor packages
that load without compiling.

``torch.compile`` is built for nothing in particular: :func:`compile_model` specialises on the
shapes it sees and compiles again for a new input size or batch size (``dynamic=False``:
otherwise dynamo makes the sizes that changed symbolic, and inductor's index simplification
on symbolic sizes ran for over 15 minutes on the segmentation model at 512x1024). Each size
is one more compiled graph of the same code, and dynamo keeps at most
``torch._dynamo.config.recompile_limit`` of them (8) per code object, shared by every
compiled model: beyond that, calls run eagerly. An
AOTInductor package is built once for one input size (the batch stays free up to
``max_batch``), one torch build and one CPU (its C++ is compiled with ``-march=native``); the
package checks none of that itself (a wrong size runs and returns wrong shapes), so
:class:`PackagedModel` stores them in the package's metadata and refuses a mismatch before any
work starts.
"""
import dataclasses
import json
import os
import os.path as osp
import platform
import zipfile
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from ..deploy import deploy_target
from ..deploy.kernels import ENV_SWITCH, depthwise_kernel, unavailable_reason
from .base import (META_KEY, ArtefactBackend, ArtefactOptions, Runner, _check_int,
                   register_backend)

__all__ = ['INDUCTOR_OPTIONS', 'AUTOTUNE_OPTIONS', 'AUTOTUNE_ENV', 'autotune_default',
           'cpu_features', 'CompiledModel', 'compile_model',
           'build_package', 'custom_ops', 'read_package_record', 'read_package_metadata',
           'PackagedModel', 'CompiledOptions', 'CompiledBackend']

#: Inductor options of the compiled path: frozen weights (oneDNN-packed convolutions with
#: fused activations), C++ wrapper (no Python between kernels).
INDUCTOR_OPTIONS = {'freezing': True, 'cpp_wrapper': True}
#: Inductor's max-autotune with its C++ GEMM template: each matrix product (the 1x1
#: convolutions of the channels-last forms) becomes a generated micro-kernel with its bias,
#: activation and adds fused, where it measures faster than oneDNN/MKL. Compiling takes about
#: 2.3x longer, so packages (built once, cached) use it and ``torch.compile`` takes it on
#: request (``compile_model(model, **AUTOTUNE_OPTIONS)``).
AUTOTUNE_OPTIONS = {'max_autotune': True, 'max_autotune_gemm_backends': 'CPP,ATEN'}
#: ``0`` (or ``false``, ``no``, ``off``) builds packages without :data:`AUTOTUNE_OPTIONS`
#: unless a backend's options say otherwise: quicker builds, slower packages
AUTOTUNE_ENV = 'LITEHRNET_MM_AUTOTUNE'


def autotune_default() -> bool:
    """Whether packages are built with :data:`AUTOTUNE_OPTIONS` when nothing says otherwise:
    :data:`AUTOTUNE_ENV`, on when unset."""
    value = os.environ.get(AUTOTUNE_ENV, '1').strip().lower()
    if value not in ('1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'):
        raise ValueError(f'{AUTOTUNE_ENV} must be 1, true, yes or on (the default) or 0, false, '
                         f'no or off, got {os.environ[AUTOTUNE_ENV]!r}')
    return value in ('1', 'true', 'yes', 'on')


_ISA_PREFIXES = ('avx', 'amx', 'fma', 'f16c', 'sse', 'bmi')


def cpu_features() -> Dict[str, object]:
    """The CPU model and the instruction-set flags that generated C++ may use."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name') and model in ('', platform.machine()):
                    model = line.split(':', 1)[1].strip()
                elif line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    break
    except OSError:
        pass
    return dict(model=model, machine=platform.machine(),
                isa=sorted(f for f in flags if f.startswith(_ISA_PREFIXES)),
                torch_capability=torch.backends.cpu.get_cpu_capability())


class CompiledModel:
    """``torch.compile`` of a model, run without autograd under inductor options.

    The options are set around every call (not passed to ``torch.compile(options=...)``,
    which measured no faster than without freezing on torch 2.14), so that a recompilation
    for a new input size gets them too.
    """

    def __init__(self, model: torch.nn.Module, **options):
        self.options = {**INDUCTOR_OPTIONS, **options}
        self.compiled = torch.compile(model, dynamic=False)

    def __call__(self, *args, **kwargs):
        import torch._inductor.config as inductor_config
        with torch.no_grad(), inductor_config.patch(self.options):
            return self.compiled(*args, **kwargs)


def compile_model(model: torch.nn.Module, **options) -> CompiledModel:
    """``model`` compiled with :data:`INDUCTOR_OPTIONS` (overridden by ``options``), for
    inference. Its deployed Lite-HRNet backbones trace their ``'inductor'`` target (their
    forms see that they are compiled: the trace happens inside the call); calls that dynamo
    runs eagerly (past its recompile limit) run their eager target."""
    return CompiledModel(model, **options)


def build_package(model: torch.nn.Module, path: str, height: int, width: int,
                  in_channels: int = 3, max_batch: int = 64,
                  metadata: Optional[Dict[str, object]] = None,
                  autotune: Optional[bool] = None) -> str:
    """Compile ``model`` (image tensor in, one tensor out, eval mode) into an AOTInductor
    package at ``path``, for ``in_channels`` x ``height`` x ``width`` float32 inputs and any
    batch from 1 to ``max_batch``. ``metadata`` (JSON-serialisable) is stored with it.
    ``autotune``: with :data:`AUTOTUNE_OPTIONS` (default :func:`autotune_default`; recorded).

    ``max_batch=1`` builds for batch 1 only, with static shapes: about 25 % faster per image
    here than a package with a free batch axis (measured in the benchmark).
    """
    from torch.export import Dim
    if not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f'max_batch must be a positive int, got {max_batch!r}')
    if autotune is None:
        autotune = autotune_default()
    x = torch.randn(min(max_batch, 2), in_channels, height, width)
    dynamic = ({0: Dim('batch', min=1, max=max_batch)}, ) if max_batch > 1 else None
    metadata = dict(metadata or {})
    record = {**metadata, 'torch': torch.__version__, 'cpu': cpu_features(),
              'input': {**metadata.get('input', {}), 'channels': in_channels, 'height': height,
                        'width': width, 'dtype': 'float32', 'max_batch': max_batch},
              'autotune': bool(autotune)}
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with torch.no_grad(), deploy_target(model, 'inductor'):
        exported = torch.export.export(model.eval(), (x, ), dynamic_shapes=dynamic)
        record['kernels'] = custom_ops(exported.graph_module)
        return torch._inductor.aoti_compile_and_package(
            exported, package_path=path,
            inductor_configs={'freezing': True, **(AUTOTUNE_OPTIONS if autotune else {}),
                              'aot_inductor.metadata': {META_KEY: json.dumps(record)}})


def custom_ops(graph_module: torch.fx.GraphModule) -> List[str]:
    """The ``litehrnet_mm`` operators (:mod:`.kernels`) that ``graph_module`` calls: a package
    that calls them needs them registered before it loads."""
    names = {
        str(node.target.name()) for node in graph_module.graph.nodes
        if node.op == 'call_function' and isinstance(node.target, torch._ops.OpOverload)
        and node.target.namespace == 'litehrnet_mm'
    }
    return sorted(names)


def read_package_record(path: str) -> Optional[dict]:
    """What :func:`build_package` recorded, read from the archive without loading it; None
    for a package built otherwise."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'AOTInductor package not found: {path}')
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith('wrapper_metadata.json'):
                    meta = json.loads(z.read(name))
                    if META_KEY in meta:
                        return json.loads(meta[META_KEY])
    except zipfile.BadZipFile as e:
        raise ValueError(f'{path} is not an AOTInductor package ({e})') from None
    return None


def read_package_metadata(path: str) -> dict:
    """:func:`read_package_record`, refusing a package without the record."""
    record = read_package_record(path)
    if record is None:
        raise ValueError(f'{path} was not built by litehrnet_mm.deploy.build_package (no '
                         f'{META_KEY!r} metadata): rebuild it with tools/build_package.py')
    return record


class PackagedModel:
    """An AOTInductor package built by :func:`build_package`, checked before it runs.

    Loading refuses a package built by another torch or for a CPU with instructions this one
    lacks; a call refuses an input whose size, channels or dtype the package was not built
    for, or a batch above its ``max_batch``.
    """

    def __init__(self, path: str):
        self.path = path
        self.meta = read_package_metadata(path)
        if self.meta.get('torch') != torch.__version__:
            raise RuntimeError(f'{path} was built with torch {self.meta.get("torch")}; this '
                               f'is torch {torch.__version__}: rebuild the package here')
        built = set(self.meta.get('cpu', {}).get('isa', []))
        missing = sorted(built - set(cpu_features()['isa']))
        if missing:
            raise RuntimeError(f'{path} was built for a CPU with {missing} '
                               f'({self.meta["cpu"].get("model")}), which this CPU '
                               f'({cpu_features()["model"]}) lacks: rebuild the package here')
        kernels = self.meta.get('kernels', [])
        why = unavailable_reason() if kernels else None
        if why:
            raise RuntimeError(
                f'{path} calls litehrnet_mm\'s hand-written kernels {kernels}, which are not '
                f'available here ({why}); make them available, or rebuild the package with '
                f'{ENV_SWITCH}=0 (oneDNN convolutions instead)')
        self.input = self.meta['input']
        self._model = torch._inductor.aoti_load_package(path)

    def check_input(self, x: torch.Tensor) -> None:
        spec = self.input
        expected = (spec['channels'], spec['height'], spec['width'])
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != expected:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'{self.path} was built for (N, {", ".join(map(str, expected))}) '
                             f'inputs, got {got}; build a package for this size')
        if x.dtype != torch.float32:
            raise ValueError(f'{self.path} takes float32 inputs, got {x.dtype}')
        if not 1 <= x.shape[0] <= spec['max_batch']:
            raise ValueError(f'{self.path} takes batches of 1 to {spec["max_batch"]}, got '
                             f'{x.shape[0]}')

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self._model(x.contiguous())


@dataclasses.dataclass(frozen=True)
class CompiledOptions(ArtefactOptions):
    """Options of the ``'compiled'`` backend (besides :class:`ArtefactOptions`').

    Args:
        max_batch (int): The largest batch a package takes in one call (larger batches run
            in chunks). 1 builds for batch 1 with static shapes, about 25 % faster per image.
        autotune (bool, optional): Build with inductor's max-autotune and its C++ GEMM
            template (:data:`AUTOTUNE_OPTIONS`): faster batch-1 packages, about 2x the build
            time. Default: ``$LITEHRNET_MM_AUTOTUNE`` (on when unset) for ``max_batch=1``;
            off for a free batch axis, where it picks its kernels for the traced batch of 2
            and measured slower at batch 8 (88 ms against 76). Part of the cache key.
    """
    max_batch: int = 1
    autotune: Optional[bool] = None

    def check(self) -> None:
        super().check()
        _check_int('max_batch', self.max_batch, 1)
        if self.autotune is not None and not isinstance(self.autotune, bool):
            raise ValueError(f'autotune must be None, True or False, got {self.autotune!r}')

    @property
    def autotuned(self) -> bool:
        """Whether packages are built with :data:`AUTOTUNE_OPTIONS`."""
        if self.autotune is None:
            return autotune_default() and self.max_batch == 1
        return self.autotune


@register_backend
class CompiledBackend(ArtefactBackend):
    """``'compiled'``: an AOTInductor package of the deploy form (CPU), one per input size,
    built on first use and cached: later runs load it in milliseconds instead of
    compiling."""
    name = 'compiled'
    options_class = CompiledOptions
    suffix = '.pt2'
    file_kind = 'an AOTInductor package'
    any_size = False

    def complete_record(self, record: dict) -> dict:
        """The CPU the package is compiled for, its largest batch, whether it calls the
        hand-written kernel (``LITEHRNET_MM_KERNELS`` on and the kernel built here) and
        whether it is autotuned: a package of another kind is not served."""
        record['cpu'] = cpu_features()
        record['input']['max_batch'] = self.options.max_batch
        record['kernel'] = depthwise_kernel()
        record['autotune'] = self.options.autotuned
        return record

    def build(self, part: nn.Module, path: str, size: Tuple[int, int], record: dict,
              dynamic: bool = False) -> None:
        if dynamic:
            raise ValueError('AOTInductor packages are built for one input size')
        build_package(part, path, *size, in_channels=3, max_batch=self.options.max_batch,
                      metadata=record, autotune=record['autotune'])

    def load(self, path: str) -> Runner:
        """Runs a package, splitting batches larger than it takes."""
        package = PackagedModel(path)
        max_batch = package.input['max_batch']

        def run_package(x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
            outs = [package(chunk) for chunk in x.split(max_batch)]
            outs = [o if isinstance(o, (tuple, list)) else (o, ) for o in outs]
            return tuple(torch.cat(parts) if len(parts) > 1 else parts[0]
                         for parts in zip(*outs))
        return run_package

    @classmethod
    def read_record(cls, path: str) -> Optional[dict]:
        return read_package_record(path)
