"""What a backend is: one class per backend, its options a dataclass that checks itself.

A backend runs one part of a model (an image in, a tensor or a tuple of tensors out: see
:mod:`litehrnet_mm.inference.parts`) in the deploy form. It either runs the module itself
(:class:`Backend`, ``'pytorch'``) or builds an artefact file from it once and runs the file
(:class:`ArtefactBackend`: ``'compiled'``, ``'onnxruntime'``, ``'openvino'``), which
:mod:`litehrnet_mm.inference` caches. A new backend is one subclass and
:func:`register_backend`.
"""
import dataclasses
import importlib.util
import os
import os.path as osp
from typing import Callable, ClassVar, Dict, Optional, Tuple, Type, Union

import torch
from torch import nn

__all__ = ['META_KEY', 'Runner', 'Requirement', 'BackendOptions', 'ArtefactOptions',
           'Backend', 'ArtefactBackend', 'BACKENDS', 'register_backend', 'backend_class',
           'make_backend', 'backends_for_file', 'BackendSpec', 'require']

#: the key under which artefacts store what they were built from
META_KEY = 'litehrnet_mm'

#: runs a part: an image tensor in, its outputs as a tuple of tensors
Runner = Callable[[torch.Tensor], Tuple[torch.Tensor, ...]]
#: a Python module and the pip package that installs it
Requirement = Tuple[str, str]
#: a backend's name, or ``dict(type=NAME, **options)``
BackendSpec = Union[None, str, dict, 'Backend']


def require(module: str, package: Optional[str] = None):
    """Import ``module``, refusing with the pip command when it is not installed."""
    if importlib.util.find_spec(module) is None:
        raise ImportError(f'{module} is not installed: pip install {package or module}')
    return importlib.import_module(module)


@dataclasses.dataclass(frozen=True)
class BackendOptions:
    """A backend's options; subclasses add fields with their defaults and check them in
    :meth:`check` (called when made)."""

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming an option whose value the backend cannot take."""

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def defaults(cls) -> dict:
        return {f.name: f.default for f in dataclasses.fields(cls)}

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.names()}

    def changed(self) -> dict:
        """The options set to something other than their default."""
        defaults = self.defaults()
        return {k: v for k, v in self.as_dict().items() if v != defaults[k]}


def _check_int(name: str, value, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'{name} must be {"None or " if optional else ""}an int >= {minimum}, '
                         f'got {value!r}')


@dataclasses.dataclass(frozen=True)
class ArtefactOptions(BackendOptions):
    """Options of every artefact backend.

    Args:
        artefact (str, optional): Run this file, built before (e.g. with ``tools/infer.py
            --cache-dir``), instead of building one into the cache; it is checked against
            the model first.
        cache_dir (str, optional): Where built artefacts are kept (default
            ``$LITEHRNET_MM_CACHE`` or ``~/.cache/litehrnet-mm/artefacts``).
    """
    artefact: Optional[str] = None
    cache_dir: Optional[str] = None

    def check(self) -> None:
        for name in ('artefact', 'cache_dir'):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise ValueError(f'{name} must be a path, got {value!r}')
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))


class Backend:
    """Runs a part of a model in its deploy form, in this process's PyTorch.

    Class attributes a backend sets:
        name: What configs and tools call it.
        options_class: Its options (a :class:`BackendOptions` dataclass).
        requires: The Python modules it runs with, each with its pip package.
        cpu_only: Whether it runs on the CPU alone.
    """
    name: ClassVar[str] = ''
    options_class: ClassVar[Type[BackendOptions]] = BackendOptions
    requires: ClassVar[Tuple[Requirement, ...]] = ()
    cpu_only: ClassVar[bool] = True

    def __init__(self, options: Union[None, dict, BackendOptions] = None, build: bool = True):
        """``build=False``: the backend only runs what exists (an artefact file), so the
        packages it builds with are not required."""
        self.build_artefacts = build
        if options is None or isinstance(options, dict):
            options = dict(options or {})
            unknown = sorted(set(options) - set(self.options_class.names()))
            if unknown:
                raise ValueError(f'backend {self.name!r} takes the options '
                                 f'{sorted(self.options_class.names()) or "(none)"}, got '
                                 f'{unknown}')
            options = self.options_class(**options)
        elif not isinstance(options, self.options_class):
            raise TypeError(f'backend {self.name!r} takes {self.options_class.__name__}, got '
                            f'{type(options).__name__}')
        self.options = options
        self.check_requirements()

    def needs(self) -> Tuple[Requirement, ...]:
        """The Python packages this backend needs with these options."""
        return self.requires

    def check_requirements(self) -> None:
        """Refuse, naming the pip command, when a package this backend needs is missing."""
        for module, package in self.needs():
            if importlib.util.find_spec(module) is None:
                raise ImportError(f'backend {self.name!r} needs the Python package {package}, '
                                  f'which is not installed: pip install {package}')

    def check_device(self, device: Union[str, torch.device]) -> None:
        """Refuse a device other than the CPU for the CPU backends."""
        if self.cpu_only and torch.device(device).type != 'cpu':
            raise RuntimeError(f'backend {self.name!r} runs on the CPU, not on {device}: build '
                               f'the model with device="cpu", or use backend "pytorch"')

    def spec(self) -> dict:
        """``dict(type=name, **options)`` with the options that differ from the defaults."""
        return dict(type=self.name, **self.options.changed())

    def run(self, part: nn.Module) -> Runner:
        """A runner of ``part`` (in deploy form, on the device it runs on)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.options})'


class ArtefactBackend(Backend):
    """Builds an artefact file of a part once and runs the file.

    Class attributes a backend sets, besides :class:`Backend`'s:
        suffix: Its artefact files' suffix (backends with the same suffix run each other's).
        file_kind: What such a file is, in words.
        requires_to_build: The Python modules it builds its artefacts with.
        any_size: Whether its artefacts can take any input height and width.
    """
    options_class: ClassVar[Type[BackendOptions]] = ArtefactOptions
    suffix: ClassVar[str] = ''
    file_kind: ClassVar[str] = ''
    requires_to_build: ClassVar[Tuple[Requirement, ...]] = ()
    any_size: ClassVar[bool] = True

    def __init__(self, options: Union[None, dict, BackendOptions] = None, build: bool = True):
        super().__init__(options, build)
        if self.options.artefact:
            self.check_file(self.options.artefact)

    def needs(self) -> Tuple[Requirement, ...]:
        builds = self.build_artefacts and not self.options.artefact
        return self.requires + (self.requires_to_build if builds else ())

    @classmethod
    def runtime_version(cls) -> Optional[str]:
        """The version of the runtime that runs the artefacts (None: torch's)."""
        return None

    def complete_record(self, record: dict) -> dict:
        """What this backend adds to the record of an artefact it builds (in place)."""
        return record

    def build(self, part: nn.Module, path: str, size: Tuple[int, int], record: dict,
              dynamic: bool = False) -> None:
        """Write the artefact of ``part`` (deploy form, eval mode) for inputs of ``size``
        (height, width; any multiple of 32 with ``dynamic``) to ``path``, with ``record``
        stored in it."""
        raise NotImplementedError

    def load(self, path: str) -> Runner:
        """A runner of the artefact at ``path``."""
        raise NotImplementedError

    @classmethod
    def read_record(cls, path: str) -> Optional[dict]:
        """The record stored in the artefact at ``path`` (None when it has none); raises
        ``ValueError`` for a file that is not an artefact of this kind."""
        raise NotImplementedError

    @classmethod
    def check_file(cls, path: str) -> None:
        """Refuse a missing artefact, or a file of a type this backend does not run."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'backend {cls.name!r}: artefact not found: {path}')
        if not path.endswith(cls.suffix):
            others = backends_for_file(path)
            hint = (f' ({others[0].file_kind}: use backend '
                    f'{" or ".join(repr(b.name) for b in others)})' if others else '')
            raise ValueError(f'backend {cls.name!r} runs {cls.suffix} files, got {path}'
                             f'{hint}')


#: every backend, by name, in the order they were registered
BACKENDS: Dict[str, Type[Backend]] = {}


def register_backend(cls: Type[Backend]) -> Type[Backend]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name:
        raise ValueError(f'{cls.__name__} has no name: set its class attribute `name`')
    if cls.name in BACKENDS:
        raise ValueError(f'backend name {cls.name!r} is taken by '
                         f'{BACKENDS[cls.name].__name__}')
    BACKENDS[cls.name] = cls
    return cls


def backend_class(name: str) -> Type[Backend]:
    """The backend registered as ``name``, refused with the list of backends."""
    if name not in BACKENDS:
        raise ValueError(f'unknown backend {name!r}: choose one of {", ".join(BACKENDS)}')
    return BACKENDS[name]


def make_backend(spec: BackendSpec = None, build: bool = True) -> Backend:
    """A backend from its name, ``dict(type=NAME, **options)`` or a backend (returned as it
    is); refuses an unknown backend or option, and a backend whose Python package is not
    installed (naming the pip command), before any work. Default: ``'pytorch'``. With
    ``build=False`` the packages that build artefacts are not required (see
    :class:`Backend`)."""
    if isinstance(spec, Backend):
        return spec
    if spec is None:
        spec = 'pytorch'
    if isinstance(spec, str):
        spec = dict(type=spec)
    if not isinstance(spec, dict) or 'type' not in spec:
        raise TypeError(f"backend must be a name or a dict with 'type', got {spec!r}")
    options = dict(spec)
    return backend_class(options.pop('type'))(options, build=build)


def backends_for_file(path: str) -> Tuple[Type[ArtefactBackend], ...]:
    """The backends that run a file with ``path``'s suffix."""
    return tuple(cls for cls in BACKENDS.values()
                 if issubclass(cls, ArtefactBackend) and cls.suffix and path.endswith(cls.suffix))
