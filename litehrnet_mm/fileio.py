"""Writing files so that an interrupted write never leaves one that looks complete: each file
is written under a temporary name next to it and renamed (``os.replace``, atomic on one file
system); a folder written file by file gets a completion marker last."""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any, Iterator

#: The file that marks a generated folder as complete.
COMPLETE = '.complete.json'


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path to write ``path`` to: renamed to ``path`` when the block ends, removed
    when it raises."""
    tmp = f'{path}.part{os.getpid()}'
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)
    return path


def write_json(path: str, obj: Any) -> str:
    """Write ``obj`` as JSON to ``path`` atomically; returns ``path``."""
    return write_bytes(path, json.dumps(obj).encode())


def mark_incomplete(root: str) -> None:
    """Remove the completion marker of ``root`` (before writing into it)."""
    if osp.exists(osp.join(root, COMPLETE)):
        os.remove(osp.join(root, COMPLETE))


def mark_complete(root: str, **info: Any) -> None:
    """Write the completion marker of ``root`` (last), with ``info`` (what was generated)."""
    write_json(osp.join(root, COMPLETE), info)


def is_complete(root: str) -> bool:
    """Whether a generation of ``root`` finished (its marker exists)."""
    return osp.isfile(osp.join(root, COMPLETE))


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it, links resolved."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder
