"""Loading MMEngine checkpoints under torch's ``weights_only=True`` default (torch >= 2.6).

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``. Its checkpoints hold, besides
tensors, the runner's message hub (``HistoryBuffer`` objects holding NumPy arrays, and their
statistics methods pickled as ``getattr(HistoryBuffer, 'mean')``) and NumPy scalars and arrays
(dataset metadata, logged values). Rather than switching the safety off
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` lets any pickle run code), exactly these classes are
added to torch's allow-list, and ``getattr`` only for HistoryBuffer's statistics methods;
everything else is still refused.
"""
import pickle

import numpy as np
import torch


def _numpy_globals():
    core = getattr(np, '_core', None) or np.core  # NumPy 2 / NumPy 1
    names = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
             'float16', 'float32', 'float64', 'complex64', 'complex128', 'str', 'bytes')
    dtype_classes = {type(np.dtype(n)) for n in names}
    return [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype,
            *sorted(dtype_classes, key=lambda c: c.__name__)]


def history_buffer_getattr(obj, name):
    """``getattr`` as a checkpoint may call it: HistoryBuffer's statistics methods only."""
    from mmengine.logging.history_buffer import HistoryBuffer

    # The built-in statistics are only entered into `_statistics_methods` when a first
    # HistoryBuffer is made, which a fresh process loading a checkpoint has not done yet.
    allowed = {'min', 'max', 'mean', 'current'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading with weights_only=True: litehrnet_mm '
        'allows getattr only for the statistics methods of mmengine HistoryBuffer')


def mmengine_checkpoint_globals():
    """The non-tensor globals that checkpoints saved by MMEngine's runner need."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'), *_numpy_globals()]


def allow_mmengine_checkpoints():
    """Allow-list MMEngine's checkpoint classes for ``torch.load(weights_only=True)``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 loads them without an allow-list
        add(mmengine_checkpoint_globals())
