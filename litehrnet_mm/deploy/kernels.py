"""Hand-written CPU kernels of the deploy form, compiled on this machine on first use.

``torch.ops.litehrnet_mm.depthwise3x3`` (``csrc/depthwise.cpp``) runs the depthwise 3x3
convolutions of the eager and inductor forms; ``torch.ops.litehrnet_mm.fingerprint``
(``csrc/fingerprint.cpp``, :func:`fingerprint`) tells the fast estimators and the eager form
whether their weights changed since the last call, in one pass over them.

The depthwise kernel: oneDNN spends 30 to 45 us on each depthwise convolution at batch 1,
most of it fixed cost; the kernel takes 3 to 30 us on the same maps. It is built
with ``torch.utils.cpp_extension`` (g++ and ninja, which the install already needs for mmcv
and inductor) into torch's extension cache, once per machine, source and instruction set,
and registered as a PyTorch operator with a fake (shape) implementation, so that
``torch.compile`` and AOTInductor call it like any other op.

Where they cannot be built, the deploy form warns once and keeps oneDNN's convolution (same
outputs, slower), and the weights are checked by their norms (slower).
``LITEHRNET_MM_KERNELS=0`` (or ``false``, ``no``, ``off``, empty) turns the kernels off
without trying. The switch is read once, when a deploy form is made
(:func:`litehrnet_mm.deploy.to_deploy`): each depthwise layer keeps what it was made with, and
so do the compiled graphs and packages traced from it.

Processes that build the kernel at once take turns: the build runs under a lock of ours (an
``flock``, released when its process ends, however it ends: a builder killed mid-build blocks
no one), which waits at most ``LITEHRNET_MM_KERNEL_LOCK_TIMEOUT`` seconds (default 600) and
then falls back to oneDNN with a warning. (torch 2.14's own build lock is an ``flock`` too;
older torch left a lock file that made every later process wait forever.)
"""
import functools
import logging
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence

import torch

from ..fileio import file_lock
from ..stamps import content_stamp

ENV_SWITCH = 'LITEHRNET_MM_KERNELS'
LOCK_TIMEOUT_ENV = 'LITEHRNET_MM_KERNEL_LOCK_TIMEOUT'
#: the values of :data:`ENV_SWITCH`, case aside
SWITCH_OFF = ('0', 'false', 'no', 'off', '')
SWITCH_ON = ('1', 'true', 'yes', 'on')
SOURCES = [osp.join(osp.dirname(__file__), 'csrc', name)
           for name in ('depthwise.cpp', 'ccw.cpp', 'fingerprint.cpp')]

# The vector instructions the kernel may use, from the level PyTorch's own CPU kernels use
# here (so the cached build never carries instructions another CPU lacks: the level is part
# of the extension's name).
_ISA_FLAGS = {
    'AVX512': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma'],
    'AVX2': ['-mavx2', '-mfma'],
}


def _isa() -> str:
    capability = torch.backends.cpu.get_cpu_capability()
    return capability if capability in _ISA_FLAGS else 'DEFAULT'


def kernels_enabled() -> bool:
    """Whether ``LITEHRNET_MM_KERNELS`` allows the hand-written kernels (on when unset)."""
    value = os.environ.get(ENV_SWITCH, '1').strip().lower()
    if value not in SWITCH_OFF + SWITCH_ON:
        raise ValueError(f'{ENV_SWITCH} must be one of {", ".join(SWITCH_ON)} (the default) '
                         f'or {", ".join(v for v in SWITCH_OFF if v)} or empty (oneDNN only), '
                         f'got {os.environ[ENV_SWITCH]!r}')
    return value in SWITCH_ON


def lock_timeout() -> float:
    """Seconds to wait for another process's build (:data:`LOCK_TIMEOUT_ENV`, default 600)."""
    value = os.environ.get(LOCK_TIMEOUT_ENV, '600')
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not seconds >= 0:
        raise ValueError(f'{LOCK_TIMEOUT_ENV} must be a number of seconds >= 0, got {value!r}')
    return seconds


def build_flags() -> List[str]:
    # -fno-trapping-math: comparisons become vector selects (no kernel relies on traps)
    return ['-O3', '-fopenmp', '-fno-trapping-math', *_ISA_FLAGS.get(_isa(), [])]


def _reason(e: Exception) -> str:
    """The compiler's first error line, or the exception's last line."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    errors = [line for line in lines if 'error:' in line]
    if errors:
        return errors[0]
    return lines[-1] if lines else type(e).__name__


def _cpp_extension():
    # its import warns that there is no CUDA, which is beside the point on a CPU build
    log = logging.getLogger('torch.utils.cpp_extension')
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        from torch.utils import cpp_extension
    finally:
        log.setLevel(level)
    return cpp_extension


def _build() -> None:
    """Build (or load the build of) the extension, under our lock (see the module
    docstring)."""
    cpp_extension = _cpp_extension()
    name = f'litehrnet_mm_kernels_{_isa().lower()}'
    folder = cpp_extension._get_build_directory(name, verbose=False)
    with file_lock(osp.join(folder, 'litehrnet_mm.lock'), timeout=lock_timeout()):
        cpp_extension.load(name=name, sources=SOURCES, extra_cflags=build_flags(),
                           extra_ldflags=['-fopenmp'], is_python_module=False, verbose=False)


@functools.lru_cache(maxsize=None)
def _load() -> Optional[str]:
    """Build and register the kernel once per process: None, or why it failed."""
    if not hasattr(torch.ops.litehrnet_mm, 'depthwise3x3'):
        try:
            _build()
        except Exception as e:  # no compiler, no ninja, a read-only cache, a lock timeout...
            reason = _reason(e)
            warnings.warn(
                f'litehrnet_mm: could not build the depthwise 3x3 kernel ({reason}); the '
                f'deploy form uses oneDNN convolutions instead (same outputs, slower). Install '
                f'g++ and ninja, or set {ENV_SWITCH}=0 to silence this.', RuntimeWarning,
                stacklevel=3)
            return reason

    @torch.library.register_fake('litehrnet_mm::depthwise3x3')
    def _(x, taps, bias, stride, relu, scale=None, factor=1):
        n, c, h, w = x.shape
        ho, wo = (h - 1) // stride + 1, (w - 1) // stride + 1
        return x.new_empty_strided((n, c, ho, wo), (ho * wo * c, 1, wo * c, c))

    @torch.library.register_fake('litehrnet_mm::ccw_block')
    def _(x, *weights):
        return [t.new_empty_strided(t.shape, (t.shape[1] * t.shape[2] * t.shape[3], 1,
                                              t.shape[3] * t.shape[1], t.shape[1]))
                for t in x]

    @torch.library.register_fake('litehrnet_mm::fingerprint')
    def _(tensors):
        return tensors[0].new_empty((len(tensors), ), dtype=torch.long)

    return None


@torch.compiler.assume_constant_result
def built() -> bool:
    """Whether ``torch.ops.litehrnet_mm.depthwise3x3`` is registered in this process (built
    and loaded on the first call; False, with one warning, where it cannot be built)."""
    return _load() is None


def depthwise_kernel() -> bool:
    """Whether the kernel is switched on (:data:`ENV_SWITCH`) and built here."""
    return kernels_enabled() and built()


def fingerprint(tensors: Sequence[torch.Tensor]) -> Optional[torch.Tensor]:
    """A fingerprint of the contents of ``tensors`` (None for none), which changes when any
    of their values changes (:func:`~litehrnet_mm.stamps.same_stamp` compares two): one 64-bit
    number per tensor from the kernel where it is switched on and built, else
    :func:`~litehrnet_mm.stamps.content_stamp` (one norm per tensor: milliseconds). To
    fingerprint the same tensors on every call, hold them in a :class:`Watch`."""
    return Watch(tensors).stamp()


class Watch:
    """Tensors listed once, fingerprinted on every call (:meth:`stamp`): by the kernel's
    ``litehrnet_mm.Watch``, which holds the tensors in C++ (a call passes nothing from Python;
    about 0.1 to 0.6 ms for Lite-HRNet-18's 1,400 weights and buffers), else by their norms.
    It holds the tensors themselves: values written in place or through ``.data`` are seen;
    tensors that replace them (a module's buffers after ``.to()``) need a new watch."""

    def __init__(self, tensors: Sequence[torch.Tensor]):
        self.tensors = list(tensors)
        self._held = None
        if (self.tensors and kernels_enabled() and built()
                and all(t.device.type == 'cpu' for t in self.tensors)):
            self._held = torch.classes.litehrnet_mm.Watch(self.tensors)

    def stamp(self) -> Optional[torch.Tensor]:
        if not self.tensors:
            return None
        if self._held is not None:
            with torch.no_grad():
                return self._held.stamp()
        return content_stamp(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)


def unavailable_reason() -> Optional[str]:
    """Why the kernel is not there to use, None when it is."""
    if not kernels_enabled():
        return f'{ENV_SWITCH}=0 turns it off'
    reason = _load()
    return None if reason is None else f'it could not be built: {reason}'
