"""Running ``mim`` (MMPose's and MMSeg's train and test tools) from the demos and tests: the
``mim`` of this environment with a timeout, configs derived without ``--cfg-options``'
space-stripping, and the checkpoint a run saved."""
import glob
import math
import os
import os.path as osp
import subprocess
import sys
from typing import Optional, Sequence

from .fileio import is_inside, write_bytes

__all__ = ['mim_executable', 'run_mim', 'check_cfg_options', 'derived_config',
           'checkpoint_of_run']


def mim_executable() -> str:
    """The ``mim`` of this Python environment."""
    return osp.join(osp.dirname(sys.executable), 'mim')


def run_mim(args: Sequence[str], timeout: float = 1800, check: bool = True,
            capture: bool = True, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run ``mim`` of this environment, with a timeout.

    ``capture=False`` prints the command and lets its output through (the demos); otherwise
    the output is returned. With ``check``, a failure raises with the end of the output.
    """
    cmd = [mim_executable(), *args]
    if not capture:
        print('$ ' + ' '.join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        output = f'\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}' if capture else ''
        raise RuntimeError(f'mim {" ".join(args)} failed ({proc.returncode}){output}')
    return proc


def check_cfg_options(options: Sequence[str]) -> None:
    """Refuse ``--cfg-options`` values with spaces: MMEngine's ``DictAction`` removes every
    space from a value without a word (``data_root=/my data/`` becomes ``/mydata/``)."""
    for option in options:
        key, _, value = option.partition('=')
        if ' ' in value:
            raise ValueError(
                f'--cfg-options {option!r}: MMEngine would silently read {key}='
                f'{value.replace(" ", "")!r} (it removes spaces from values); use a value '
                f'without spaces, or set it in a config file that inherits the config')


def derived_config(config: str, path: str, settings: dict) -> str:
    """Write a config file at ``path`` that inherits ``config`` and sets ``settings`` (dict
    values merge into the base's, as in any MMEngine config); returns ``path``. Unlike
    ``--cfg-options``, values keep their spaces."""
    lines = [f'_base_ = [{osp.abspath(config)!r}]']
    lines += [f'{key} = {value!r}' for key, value in settings.items()]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    write_bytes(path, '\n'.join(lines + ['']).encode())
    return path


def checkpoint_of_run(work_dir: str, started: float, best: Optional[str] = None) -> str:
    """The checkpoint that the training run started at ``started`` (``time.time()``) saved in
    ``work_dir``: the newest file matching the glob ``best`` written since then, else the one
    ``work_dir/last_checkpoint`` names, if both were written since then (files of an earlier
    run in the same work dir are never taken)."""
    since = math.floor(started)  # file systems may store whole seconds
    fresh = lambda path: osp.isfile(path) and osp.getmtime(path) >= since  # noqa: E731
    best_files = [p for p in glob.glob(osp.join(work_dir, best or '')) if best and fresh(p)]
    if best_files:
        return max(best_files, key=osp.getmtime)
    record = osp.join(work_dir, 'last_checkpoint')
    last = open(record).read().strip() if fresh(record) else ''
    if not fresh(last) or not is_inside(last, work_dir):
        raise RuntimeError(f'the training run in {work_dir} saved no checkpoint of its own '
                           f'there ({record} is missing, older than the run, or points '
                           f'elsewhere: {last!r})')
    return last
