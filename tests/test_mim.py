"""litehrnet_mm.mim: configs derived with their spaces kept, refused --cfg-options, the
checkpoint of a run."""
import os
import time

import pytest
from mmengine.config import Config, DictAction

from litehrnet_mm.mim import check_cfg_options, checkpoint_of_run, derived_config


def test_cfg_options_with_spaces_are_refused():
    # what MMEngine's --cfg-options parser does to a value with a space
    assert DictAction._parse_iterable('/data root/') == '/dataroot/'
    check_cfg_options(['train_cfg.max_epochs=2', 'a.b=[1,2]'])
    with pytest.raises(ValueError, match=r"would silently read a.data_root='/dataroot/'"):
        check_cfg_options(['x=1', 'a.data_root=/data root/'])


def test_derived_config_keeps_spaces_and_the_base(tmp_path, configs):
    root = str(tmp_path / 'data root') + '/'
    path = derived_config(configs.coco, str(tmp_path / 'with space' / 'cfg.py'),
                          dict(train_dataloader=dict(dataset=dict(data_root=root)),
                               val_evaluator=dict(ann_file=root + 'val.json')))
    cfg, base = Config.fromfile(path), Config.fromfile(configs.coco)
    assert cfg.train_dataloader.dataset.data_root == root
    assert cfg.val_evaluator.ann_file == root + 'val.json'
    assert cfg.val_evaluator.type == base.val_evaluator.type == 'CocoMetric'
    assert cfg.train_dataloader.dataset.ann_file == base.train_dataloader.dataset.ann_file
    assert cfg.model == base.model


def _touch(path, mtime=None):
    with open(path, 'w') as f:
        f.write('x')
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def test_checkpoint_of_run_takes_only_files_of_the_run(tmp_path):
    old = time.time() - 3600
    _touch(tmp_path / 'best_coco_AP_epoch_30.pth', old)  # an earlier run, better than ours
    last = _touch(tmp_path / 'epoch_2.pth', old)
    _touch(tmp_path / 'last_checkpoint', old)
    (tmp_path / 'last_checkpoint').write_text(last)
    os.utime(tmp_path / 'last_checkpoint', (old, old))
    started = time.time()
    with pytest.raises(RuntimeError, match='saved no checkpoint of its own'):
        checkpoint_of_run(str(tmp_path), started, best='best_coco_AP_epoch_*.pth')
    ours = _touch(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(ours)
    assert checkpoint_of_run(str(tmp_path), started, best='best_*.pth') == ours
    best = _touch(tmp_path / 'best_coco_AP_epoch_1.pth')
    assert checkpoint_of_run(str(tmp_path), started, best='best_coco_AP_epoch_*.pth') == best
    outside = _touch(tmp_path.parent / 'elsewhere.pth')
    (tmp_path / 'last_checkpoint').write_text(outside)
    with pytest.raises(RuntimeError, match='points elsewhere'):
        checkpoint_of_run(str(tmp_path), started)
