"""Atomic writes and completion markers (litehrnet_mm.fileio)."""
import os

import pytest

from litehrnet_mm.fileio import (atomic_path, is_complete, is_inside, mark_complete,
                                 mark_incomplete, write_json)


def test_an_interrupted_write_leaves_nothing(tmp_path):
    path = tmp_path / 'a.json'
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(path)) as tmp, open(tmp, 'wb') as f:
            f.write(b'{"half": ')
            raise KeyboardInterrupt  # as if ^C arrived in the middle of the file
    assert os.listdir(tmp_path) == []
    write_json(str(path), {'whole': 1})
    assert path.read_text() == '{"whole": 1}' and os.listdir(tmp_path) == ['a.json']


def test_an_interrupted_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'a.json'
    write_json(str(path), [1])
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as tmp:
            open(tmp, 'w').write('[2')
            raise RuntimeError
    assert path.read_text() == '[1]' and os.listdir(tmp_path) == ['a.json']


def test_completion_marker(tmp_path):
    assert not is_complete(str(tmp_path))
    mark_complete(str(tmp_path), num=3)
    assert is_complete(str(tmp_path))
    mark_incomplete(str(tmp_path))
    assert not is_complete(str(tmp_path))


def test_is_inside(tmp_path):
    (tmp_path / 'work').mkdir()
    os.symlink(tmp_path, tmp_path / 'work' / 'up')
    assert is_inside(str(tmp_path / 'work' / 'a.pth'), str(tmp_path / 'work'))
    assert not is_inside(str(tmp_path / 'work' / '..' / 'a.pth'), str(tmp_path / 'work'))
    assert not is_inside(str(tmp_path / 'work' / 'up' / 'a.pth'), str(tmp_path / 'work'))
    assert not is_inside(str(tmp_path / 'workshop' / 'a.pth'), str(tmp_path / 'work'))
