"""Loading MMEngine checkpoints under torch's ``weights_only=True`` default (torch >= 2.6).

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``. Its checkpoints hold, besides
tensors, the runner's message hub (``HistoryBuffer`` objects holding NumPy arrays, and their
statistics methods pickled as ``getattr(HistoryBuffer, 'mean')``) and NumPy scalars and arrays
(dataset metadata, logged values). Rather than switching the safety off
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` lets any pickle run code), importing ``litehrnet_mm``
adds exactly these names to torch's allow-list, each as narrow as it can be:

- ``numpy.dtype`` builds only the dtypes in :data:`DTYPES`: no object, structured or string
  dtypes, and always a new dtype object;
- ``numpy._core.multiarray._reconstruct`` builds only the empty array NumPy's pickles start
  from, and ``numpy._core.multiarray.scalar`` only scalars of :data:`DTYPES` from bytes;
- ``numpy.ndarray`` and the classes of :data:`DTYPES` are listed because torch sets the state
  of an array or a dtype only for listed classes;
- ``HistoryBuffer`` is restored only from its own state (``max_length`` and its two histories),
  and never registers statistics methods: MMEngine's own ``HistoryBuffer.__setstate__`` adds
  whatever a checkpoint holds to the statistics of every HistoryBuffer of the process;
- ``getattr`` only returns HistoryBuffer's four built-in statistics methods;
- ``bytes`` only builds the empty ``b''`` (the data of an empty array, which NumPy pickles as
  ``bytes()``: the empty ``sigmas`` or ``flip_pairs`` of face and hand data sets' metadata).

Everything else is still refused. torch sets an array's state (and so its dtype's flags) with
NumPy's own code, so :func:`check_numpy_data` checks the arrays of a loaded checkpoint too; the
checkpoint loaders of :mod:`litehrnet_mm.engine.checkpoint_loaders` call it.
"""
import pickle
from typing import Any, Dict

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_MULTIARRAY = (getattr(np, '_core', None) or np.core).multiarray  # NumPy 2 / NumPy 1
#: NumPy dtypes a checkpoint may hold: those MMEngine's runner saves for MMPose and MMSeg models
#: (uint8 keypoint colours, int64 counts, float32 keypoint sigmas, float64 logged values).
DTYPES = ('u1', 'i8', 'f4', 'f8')
#: HistoryBuffer's built-in statistics methods, the only ones a checkpoint may name.
STATISTICS = ('min', 'max', 'mean', 'current')
_HISTORY_STATE = {'max_length', '_log_history', '_count_history'}


def _refuse(what: str):
    raise pickle.UnpicklingError(
        f'refused {what} while loading with weights_only=True: litehrnet_mm allows only what '
        'MMEngine checkpoints hold (see litehrnet_mm/weights_only.py)')


def is_allowed_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is one of :data:`DTYPES` (either byte order) and nothing more: no
    fields, metadata or flags of other dtypes."""
    if not isinstance(dtype, np.dtype) or dtype.str[1:] not in DTYPES:
        return False
    plain = np.dtype(dtype.str)
    return (dtype.flags == plain.flags and dtype.fields is None and dtype.metadata is None
            and dtype.subdtype is None)


def _dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype`` for :data:`DTYPES` only, always a new object (torch then sets its
    state; NumPy would hand out its shared dtype for ``copy=False``)."""
    if not (isinstance(spec, str) and spec in DTYPES):
        _refuse(f'numpy dtype {spec!r} (allowed: {", ".join(DTYPES)})')
    return np.dtype(spec, False, True)


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """NumPy's array pickles start from ``_reconstruct(ndarray, (0,), b'b')``; nothing else."""
    if subtype is not np.ndarray or shape != (0, ) or typecode != b'b':
        _refuse(f'numpy _reconstruct{(subtype, shape, typecode)!r}')
    return _MULTIARRAY._reconstruct(np.ndarray, (0, ), b'b')


def _scalar(dtype: Any, data: Any) -> np.generic:
    """A NumPy scalar of :data:`DTYPES` from its bytes."""
    if not (is_allowed_dtype(dtype) and isinstance(data, bytes)):
        _refuse(f'numpy scalar of {dtype!r} from {type(data).__name__}')
    return _MULTIARRAY.scalar(dtype, data)


class _HistoryBufferState(HistoryBuffer):
    """What ``mmengine...HistoryBuffer`` means in a checkpoint: restored from its own state
    only, after which the object is a plain HistoryBuffer."""

    def __init__(self, *args, **kwargs):
        _refuse('calling HistoryBuffer(...)')

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) - {'statistics_methods'} != _HISTORY_STATE:
            _refuse(f'HistoryBuffer state {state!r:.200}')
        self._set_default_statistics()  # a fresh process has not registered them yet
        methods = state.pop('statistics_methods', {})
        if not isinstance(methods, dict) or any(
                name not in STATISTICS or method is not getattr(HistoryBuffer, name)
                for name, method in methods.items()):
            _refuse(f'HistoryBuffer statistics methods {methods!r}')
        histories = state['_log_history'], state['_count_history']
        if not isinstance(state['max_length'], int) or not all(
                isinstance(h, np.ndarray) and h.ndim == 1 and is_allowed_dtype(h.dtype)
                for h in histories) or len(histories[0]) != len(histories[1]):
            _refuse('HistoryBuffer state that is not an int and two 1-d arrays of one length')
        self.__dict__.update(state)
        self.__class__ = HistoryBuffer


def history_buffer_getattr(obj: Any, name: Any) -> Any:
    """``getattr`` as a checkpoint may call it: HistoryBuffer's built-in statistics only."""
    if obj in (HistoryBuffer, _HistoryBufferState) and name in STATISTICS:
        return getattr(HistoryBuffer, name)
    _refuse(f'getattr({obj!r}, {name!r})')


def empty_bytes(*args: Any) -> bytes:
    """``bytes`` as a checkpoint may call it: ``bytes()``, the empty data of an empty array."""
    if args:
        _refuse(f'bytes{args!r}')
    return b''


def allowed_globals() -> Dict[str, Any]:
    """The allow-list: each name, as pickles spell it, and what torch's unpickler uses for it."""
    dtype_classes = {type(np.dtype(code)) for code in DTYPES}
    return {
        'numpy.dtype': _dtype,
        f'{_MULTIARRAY.__name__}._reconstruct': _reconstruct,
        f'{_MULTIARRAY.__name__}.scalar': _scalar,
        'numpy.ndarray': np.ndarray,
        **{f'{c.__module__}.{c.__qualname__}': c for c in dtype_classes},
        'mmengine.logging.history_buffer.HistoryBuffer': _HistoryBufferState,
        'builtins.getattr': history_buffer_getattr,
        'builtins.bytes': empty_bytes,
    }


def check_numpy_data(obj: Any, source: str) -> None:
    """Raise if the loaded object ``obj`` holds a NumPy array or scalar whose dtype is not one
    of :data:`DTYPES` (for example one whose flags a crafted pickle changed)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        if not is_allowed_dtype(obj.dtype):
            raise pickle.UnpicklingError(
                f'{source} holds a NumPy value of dtype {obj.dtype!r} with flags {obj.dtype.flags}'
                f', fields {obj.dtype.fields}: refused (allowed: plain {", ".join(DTYPES)})')
    elif isinstance(obj, dict):
        for value in obj.values():
            check_numpy_data(value, source)
    elif isinstance(obj, (list, tuple, set)):
        for value in obj:
            check_numpy_data(value, source)
    elif isinstance(obj, HistoryBuffer):
        check_numpy_data(vars(obj), source)


def allow_mmengine_checkpoints() -> None:
    """Add :func:`allowed_globals` to torch's ``weights_only`` allow-list (process-wide)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 loads them without an allow-list
        add([(obj, name) for name, obj in allowed_globals().items()])
