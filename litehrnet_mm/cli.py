"""What the artefact tools (``tools/export_onnx.py``, ``tools/build_package.py``) share: their
arguments, the config and size they name, and the record of what they build.

Functions here raise :class:`UsageError` for bad arguments; the tools turn it into an exit
with the message.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config

from .builder import load_config
from .inference.artefacts import file_sha256, make_record
from .inference.parts import tensor_graph
from .models.backbones.arch import MIN_INPUT_SIZE

__all__ = ['UsageError', 'add_model_arguments', 'config_from_arguments',
           'record_of_arguments']


class UsageError(ValueError):
    """Arguments a tool cannot run with; the message says what to give instead."""


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
    from it; raises :class:`UsageError` with the reason when the config is missing, the size
    is under ``MIN_INPUT_SIZE`` or neither ``--checkpoint`` nor ``--random-weights`` was
    given."""
    try:
        cfg = load_config(args.config)
    except FileNotFoundError as e:  # load_config's message names the path
        raise UsageError(str(e)) from None
    if args.shape is None:
        codec = cfg.get('codec')  # pose configs: input_size is (w, h)
        args.shape = [codec['input_size'][1], codec['input_size'][0]] if codec else [512, 1024]
    if min(args.shape) < MIN_INPUT_SIZE:
        raise UsageError(f'--shape must be at least {MIN_INPUT_SIZE} on each side, got '
                         f'{args.shape}')
    if args.checkpoint is None and not args.random_weights:
        raise UsageError('no --checkpoint given: the artefact would hold untrained weights; '
                         'pass --checkpoint CKPT, or --random-weights if that is what you want')
    return cfg


def record_of_arguments(args: argparse.Namespace, model: torch.nn.Module, backend: str,
                        height: int, width: int, **kwargs) -> dict:
    """What an artefact tool's output is built from (:func:`litehrnet_mm.inference.
    make_record` of ``model(x, mode='tensor')``), with the checkpoint file's sha256; call it
    before switching ``model`` to its deploy form."""
    return make_record(model, tensor_graph(model), backend, height, width,
                       config_file=osp.abspath(args.config),
                       checkpoint_sha256=file_sha256(args.checkpoint) if args.checkpoint
                       else None, **kwargs)
