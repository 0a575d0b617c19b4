"""What the tools, benchmarks and tests share: building a model from one of our configs, the
reference pair (MMPose's LiteHRNet and ours with the same weights), and running ``mim``."""
import argparse
import copy
import glob
import math
import os
import os.path as osp
import subprocess
import sys
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from .deploy.export import TensorModel
from .engine.strict_checkpoint_hook import check_checkpoint_fits
from .fileio import is_inside, write_bytes
from .models import LiteHRNet, arch_to_extra
from .models.backbones.arch import MIN_INPUT_SIZE

__all__ = ['MIN_INPUT_SIZE', 'TensorModel', 'load_config', 'config_task', 'build_model',
           'build_initialised_model', 'mmpose_and_ours', 'run_mim', 'check_cfg_options',
           'derived_config', 'checkpoint_of_run', 'check_onnx_input', 'add_model_arguments',
           'config_from_arguments', 'record_of_arguments']

TASKS = ('mmpose', 'mmseg')


def load_config(config: Union[str, Config]) -> Config:
    """A config from a path (refused with a clear error when the file is missing)."""
    if isinstance(config, Config):
        return config
    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    return Config.fromfile(config)


def config_task(cfg: Config) -> str:
    """``'mmpose'`` or ``'mmseg'``: the package whose models and API the config uses."""
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(f'{cfg.filename}: default_scope {scope!r} is neither mmpose nor mmseg')
    return scope


def _init_model(cfg: Config):
    if config_task(cfg) == 'mmpose':
        from mmpose.apis import init_model
    else:
        from mmseg.apis import init_model
    return init_model(copy.deepcopy(cfg), None, device='cpu')  # it edits the config


def build_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                device: str = 'cpu', strict: bool = True) -> torch.nn.Module:
    """An MMPose estimator or MMSeg segmentor from ``config``, in eval mode, through the
    package's own ``init_model`` (data preprocessor, ``dataset_meta``, ``cfg``).

    Unlike ``init_model``, the checkpoint loads strictly by default: a missing or unexpected
    key or a shape mismatch raises, naming the checkpoint and the first keys
    (:func:`~litehrnet_mm.engine.strict_checkpoint_hook.check_checkpoint_fits`). Without a
    checkpoint the weights are PyTorch's defaults, as with ``init_model``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
    cfg = load_config(config)
    model = _init_model(cfg)
    if checkpoint is not None:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')  # litehrnet_mm's loaders
        if strict:
            check_checkpoint_fits(model, ckpt, checkpoint)
        _load_checkpoint_to_model(model, ckpt, strict=False)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    return model.to(device).eval()


def build_initialised_model(config: Union[str, Config]) -> torch.nn.Module:
    """The model of ``config`` with its configured initialisation (``init_cfg``) applied:
    what training starts from. (``init_model`` drops the backbone's ``init_cfg``.)"""
    from mmengine.registry import DefaultScope
    cfg = load_config(config)
    task = config_task(cfg)
    if task == 'mmpose':
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope(task):
        model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model.eval()


def mmpose_and_ours(arch: str, with_head: bool = True,
                    **kwargs) -> Tuple[torch.nn.Module, LiteHRNet]:
    """MMPose's ``LiteHRNet`` of a named variant (the reference) and ours with the same
    weights (``kwargs`` go to ours)."""
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet
    reference = MMPoseLiteHRNet(arch_to_extra(arch, with_head=with_head))
    ours = LiteHRNet(arch=arch, with_head=with_head, **kwargs)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


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


def check_onnx_input(onnx_file: str, shape: Sequence[int]) -> None:
    """Refuse an input shape that ``onnx_file`` was not exported for, with our error rather than
    the runtime's (see :func:`litehrnet_mm.deploy.runtimes.check_input_shape`)."""
    from .deploy.runtimes import check_input_shape, onnx_input_spec
    check_input_shape(onnx_file, onnx_input_spec(onnx_file), shape)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every artefact tool takes: the config, its weights, the output file and
    the input size (see :func:`config_from_arguments`)."""
    parser.add_argument('config')
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--random-weights', action='store_true',
                        help='use the untrained model (when no checkpoint is given; for '
                        'measurements only)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help="default: the config's input size (pose) or 512 1024 (seg)")


def config_from_arguments(args: argparse.Namespace) -> Config:
    """The config of :func:`add_model_arguments`' arguments, with ``args.shape`` filled in
    from it; exits with the reason when the config is missing, the size is under
    ``MIN_INPUT_SIZE`` or neither ``--checkpoint`` nor ``--random-weights`` was given."""
    try:
        cfg = load_config(args.config)
    except FileNotFoundError as e:  # load_config's message names the path
        sys.exit(str(e))
    if args.shape is None:
        codec = cfg.get('codec')  # pose configs: input_size is (w, h)
        args.shape = [codec['input_size'][1], codec['input_size'][0]] if codec else [512, 1024]
    if min(args.shape) < MIN_INPUT_SIZE:
        sys.exit(f'--shape must be at least {MIN_INPUT_SIZE} on each side, got {args.shape}')
    if args.checkpoint is None and not args.random_weights:
        sys.exit('no --checkpoint given: the artefact would hold untrained weights; pass '
                 '--checkpoint CKPT, or --random-weights if that is what you want')
    return cfg


def record_of_arguments(args: argparse.Namespace, model: torch.nn.Module, backend: str,
                        height: int, width: int, **kwargs) -> dict:
    """What an artefact tool's output is built from (:func:`litehrnet_mm.inference.
    make_record` of ``model(x, mode='tensor')``), with the checkpoint file's sha256; call it
    before switching ``model`` to its deploy form."""
    from .inference.artefacts import file_sha256, make_record, tensor_graph
    return make_record(model, tensor_graph(model), backend, height, width,
                       config_file=osp.abspath(args.config),
                       checkpoint_sha256=file_sha256(args.checkpoint) if args.checkpoint
                       else None, **kwargs)
