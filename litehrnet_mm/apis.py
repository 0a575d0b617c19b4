"""What the tools, benchmarks and tests share: building a model from one of our configs, the
reference pair (MMPose's LiteHRNet and ours with the same weights), and running ``mim``."""
import copy
import os.path as osp
import subprocess
import sys
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from .deploy.export import TensorModel
from .models import LiteHRNet, arch_to_extra
from .models.backbones.arch import MIN_INPUT_SIZE

__all__ = ['MIN_INPUT_SIZE', 'TensorModel', 'load_config', 'config_task', 'build_model',
           'build_initialised_model', 'mmpose_and_ours', 'run_mim']

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
    key or a shape mismatch raises, naming the keys. Without a checkpoint the weights are
    PyTorch's defaults, as with ``init_model``.
    """
    cfg = load_config(config)
    model = _init_model(cfg)
    if checkpoint is not None:
        from mmengine.runner import load_checkpoint
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=strict)
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


def mmpose_and_ours(arch: str, with_head: bool = True, **kwargs) -> Tuple[torch.nn.Module,
                                                                            LiteHRNet]:
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
