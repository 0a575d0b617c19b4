"""Crafted checkpoints for the tests: each would create a marker file if anything ran code
from it."""
from typing import Any

import torch


class RunsCode:
    """Unpickled without restrictions, this creates the file ``marker`` (arbitrary code)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


def config_text(marker: str) -> str:
    """A config text (Python source) that creates ``marker`` when MMEngine evaluates it."""
    return f'open({marker!r}, "w").close()\ngpu_ids = [0]\n'


def with_config_texts(checkpoint: dict, marker: str) -> dict:
    """``checkpoint`` with a code-running config text wherever MMEngine reads one."""
    checkpoint = dict(checkpoint, meta=dict(checkpoint.get('meta', {})))
    checkpoint['meta'].update(config=config_text(marker), cfg=config_text(marker))
    hub = checkpoint.setdefault('message_hub', {})
    hub.setdefault('runtime_info', {})['cfg'] = config_text(marker)
    return checkpoint


def save(obj: Any, path: str) -> str:
    """``torch.save`` (pickle protocol 2, as torch writes) and return ``path``."""
    torch.save(obj, path, pickle_protocol=2)
    return path
