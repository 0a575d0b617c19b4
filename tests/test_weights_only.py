"""The weights_only allow-list: MMEngine's checkpoints load, crafted ones do not."""
import copyreg
import gc
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer

import litehrnet_mm  # noqa: F401  (allow-lists MMEngine's checkpoint classes)
from litehrnet_mm.weights_only import allowed_globals, check_numpy_data
from tests.payloads import RunsCode, save

ALLOWED = {
    'numpy.dtype', 'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
    'numpy.ndarray', 'numpy.dtypes.UInt8DType', 'numpy.dtypes.Int64DType',
    'numpy.dtypes.Float32DType', 'numpy.dtypes.Float64DType',
    'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr', 'builtins.bytes'
}


@pytest.fixture(scope='module')
def saved(tmp_path_factory, toy_runner):
    work_dir = tmp_path_factory.mktemp('toy')
    toy_runner(work_dir, 2).train()
    return work_dir, work_dir / 'iter_2.pth'


def test_runner_checkpoint_loads_with_weights_only(saved):
    _, path = saved
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['iter'] == 2
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert type(buffer) is HistoryBuffer  # a plain one, not the loading class
    assert buffer.mean() == pytest.approx(float(np.mean(buffer.data[0])))
    assert isinstance(ckpt['meta']['dataset_meta']['sigmas'], np.ndarray)
    check_numpy_data(ckpt, str(path))  # every NumPy value has an allowed dtype


def test_fresh_process_loads_it_after_importing_the_package(saved):
    """As `mim test` does: a new process, our package imported by custom_imports."""
    _, path = saved
    code = (f'import litehrnet_mm, torch; c = torch.load({str(path)!r}, weights_only=True); '
            "print(c['meta']['iter'])")
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith('2')


def test_without_the_allow_list_it_is_refused(saved):
    """Shows the allow-list is what makes the load work (torch's default refuses it)."""
    _, path = saved
    code = f'import torch; torch.load({str(path)!r}, weights_only=True)'
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'Unsupported global' in proc.stderr


def test_the_allow_list_is_exactly_this():
    assert set(allowed_globals()) == ALLOWED
    # in a fresh process, what the package adds to torch's process-wide list, by name
    code = ('import json, torch; from litehrnet_mm import weights_only as w; '
            'torch.serialization.clear_safe_globals(); w.allow_mmengine_checkpoints(); '
            'print(json.dumps([e[1] if isinstance(e, tuple) else e.__module__ + "." + '
            'e.__qualname__ for e in torch.serialization.get_safe_globals()]))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(json.loads(proc.stdout.splitlines()[-1])) == ALLOWED


def _refused(tmp_path, obj, match):
    path = save(obj, str(tmp_path / 'crafted.pth'))
    with pytest.raises(pickle.UnpicklingError, match=match):
        torch.load(path, weights_only=True)


def test_code_is_refused(tmp_path):
    marker = tmp_path / 'marker'
    _refused(tmp_path, {'x': RunsCode(str(marker))}, 'Unsupported global: GLOBAL exec ')
    assert not marker.exists()


def test_other_globals_are_refused(tmp_path):
    _refused(tmp_path, {'x': subprocess.Popen}, r'Unsupported global: GLOBAL \S+\.Popen ')


class Bytes:

    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        return bytes, self.args


def test_empty_arrays_load_and_bytes_builds_nothing_else(tmp_path):
    """The metadata of data sets without sigmas or flip pairs (WFLW, the hand sets) holds
    empty arrays, which NumPy pickles with ``bytes()``; ``bytes`` of anything is refused."""
    meta = {'sigmas': np.array([], np.float32), 'flip_pairs': np.zeros((0, 2), np.int64)}
    loaded = torch.load(save({'meta': meta}, str(tmp_path / 'empty.pth')), weights_only=True)
    assert loaded['meta']['sigmas'].shape == (0,) and loaded['meta']['sigmas'].dtype == 'f4'
    assert loaded['meta']['flip_pairs'].shape == (0, 2)
    _refused(tmp_path, {'x': Bytes(5)}, r'refused bytes\(5,\)')
    _refused(tmp_path, {'x': Bytes([101, 120])}, 'refused bytes')


class Getattr:

    def __init__(self, obj, name):
        self.args = obj, name

    def __reduce__(self):
        return getattr, self.args


@pytest.mark.parametrize('obj,name', [(np.ndarray, 'tofile'), (HistoryBuffer, '__init__'),
                                      (HistoryBuffer, 'update'), (np.dtype, 'mro')])
def test_getattr_is_refused_except_for_the_statistics(tmp_path, obj, name):
    _refused(tmp_path, {'x': Getattr(obj, name)}, 'refused getattr')
    path = save({'x': Getattr(HistoryBuffer, 'mean')}, str(tmp_path / 'mean.pth'))
    assert torch.load(path, weights_only=True)['x'] is HistoryBuffer.mean


@pytest.mark.parametrize('value', [np.array([1, None], dtype=object), np.zeros(2, np.float16),
                                   np.zeros(2, np.complex128), np.array(['a']),
                                   np.zeros(2, [('a', 'f8')]), np.bool_(True)],
                         ids=['object', 'float16', 'complex', 'str', 'structured', 'bool'])
def test_other_numpy_dtypes_are_refused(tmp_path, value):
    _refused(tmp_path, {'x': value}, 'refused numpy dtype')


class Reduce:
    """Pickles as ``func(*args)``, then ``BUILD`` with ``state`` when it is given."""

    def __init__(self, func, args, state=None):
        self.value = (func, args) if state is None else (func, args, state)

    def __reduce__(self):
        return self.value


FLAGGED = (3, '<', None, None, None, -1, -1, 0x19)  # float64 that says it holds objects


# NumPy itself cannot free the crafted array below cleanly: it reports "get_clear_loop not set"
@pytest.mark.filterwarnings('ignore::pytest.PytestUnraisableExceptionWarning')
def test_dtype_state_with_flags_is_refused(tmp_path):
    flagged = Reduce(np.dtype, ('f8', False, True), FLAGGED)
    multiarray = np._core.multiarray
    _refused(tmp_path, {'x': Reduce(multiarray.scalar, (flagged, b'\0' * 8))},
             'refused numpy scalar')
    # torch sets an array's state with NumPy's own code: the loaded data are checked after
    array = Reduce(multiarray._reconstruct, (np.ndarray, (0, ), b'b'),
                   (1, (2, ), flagged, False, b'\0' * 16))
    loaded = torch.load(save({'x': array}, str(tmp_path / 'array.pth')), weights_only=True)
    with pytest.raises(pickle.UnpicklingError, match=r'array.pth holds a NumPy value of dtype'):
        check_numpy_data(loaded, str(tmp_path / 'array.pth'))
    del loaded
    gc.collect()  # here, under this test's filter


@pytest.mark.parametrize('args', [(np.matrix, (0, ), b'b'), (np.ndarray, (10**6, ), b'b'),
                                  (np.ndarray, (0, ), 'O')])
def test_reconstruct_builds_only_numpys_empty_start(tmp_path, args):
    _refused(tmp_path, {'x': Reduce(np._core.multiarray._reconstruct, args)},
             'refused numpy _reconstruct|Unsupported global')


class CraftedHistoryBuffer(Reduce):
    """Pickles as a HistoryBuffer (``NEWOBJ``) with any state."""

    def __init__(self, state):
        super().__init__(copyreg.__newobj__, (HistoryBuffer, ), state)

    @property
    def __class__(self):  # pickle checks that NEWOBJ builds the object's own class
        return HistoryBuffer


def test_history_buffer_state_is_checked(tmp_path):
    logs, counts = np.array([1.0, 2.0]), np.array([1, 1])
    plain = dict(max_length=10, _log_history=logs, _count_history=counts)
    path = save({'x': CraftedHistoryBuffer(plain)}, str(tmp_path / 'plain.pth'))
    assert torch.load(path, weights_only=True)['x'].mean() == 1.5
    before = dict(HistoryBuffer._statistics_methods)
    # MMEngine's own __setstate__ would make `mean` compute the maximum in every HistoryBuffer
    _refused(tmp_path, {'x': CraftedHistoryBuffer(dict(plain, statistics_methods={
        'mean': HistoryBuffer.max}))}, 'refused HistoryBuffer statistics methods')
    assert HistoryBuffer._statistics_methods == before
    _refused(tmp_path, {'x': CraftedHistoryBuffer(dict(plain, update=HistoryBuffer.max))},
             'refused HistoryBuffer state')
    _refused(tmp_path, {'x': CraftedHistoryBuffer(dict(plain, _log_history=[1.0, 2.0]))},
             'refused HistoryBuffer state that is not')
    _refused(tmp_path, {'x': Reduce(HistoryBuffer, (logs, counts, 5))},
             r'refused calling HistoryBuffer')


class StartIter(Hook):

    def before_train(self, runner):
        self.start = runner.iter


def test_runner_resumes_from_its_checkpoint(saved, tmp_path, toy_runner):
    work_dir, path = saved
    start = StartIter()
    runner = toy_runner(tmp_path, 4, resume=True, load_from=str(path), custom_hooks=[start])
    runner.train()
    assert start.start == 2  # continued from the checkpoint, not from scratch
    assert runner.iter == 4
    resumed = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert resumed['meta']['iter'] == 4
