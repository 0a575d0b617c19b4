"""The pose path end to end through MMPose's tools, short: train, test (CocoMetric checked by
pycocotools), resume, 2-process training, strict checkpoint loading."""
import glob
import json
import os.path as osp

import pytest
import torch

from tests.payloads import save, with_config_texts

COCO_STATS = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)',
              'AR (L)')
SHORT = ['train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'train_cfg.val_interval=1',
         'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
         'default_hooks.checkpoint.max_keep_ckpts=-1']


@pytest.fixture(scope='module')
def short_run(tmp_path_factory, tool, configs):
    """The README's main job (tools/train_pose_demo.py), one epoch on 16 images, with a space
    in the paths of its work dir and data root."""
    tmp = tmp_path_factory.mktemp('pose')
    demo = tool('train_pose_demo')
    data_root = str(tmp / 'data root')
    work_dir = str(tmp / 'work dir')
    base, trained, reference = demo.main([
        '--config', configs.synthetic_pose, '--work-dir', work_dir, '--data-root', data_root,
        '--epochs', '1', '--num-train', '16', '--num-val', '8', '--cfg-options', *SHORT
    ])
    return dict(data_root=data_root, work_dir=work_dir, base=base, trained=trained,
                reference=reference, coco_root=osp.join(data_root, 'coco'),
                config=osp.join(work_dir, 'config', osp.basename(configs.synthetic_pose)))


def test_main_job_trains_and_both_evaluators_agree(short_run):
    trained, reference = short_run['trained'], short_run['reference']
    for key in ('AP', 'AP .5', 'AP .75', 'AR'):
        assert trained[f'coco/{key}'] == pytest.approx(reference[key], abs=1e-6), key
    assert set(short_run['base']) == set(trained) == {f'coco/{k}' for k in COCO_STATS}
    # the evaluated model is this run's: training moved the weights from the untrained ones
    untrained, epoch_1 = (torch.load(osp.join(short_run['work_dir'], name),
                                     weights_only=True)['state_dict']
                          for name in ('untrained.pth', 'epoch_1.pth'))
    assert untrained.keys() == epoch_1.keys()
    assert any(not torch.equal(untrained[k], epoch_1[k]) for k in untrained)


def test_demo_refuses_cfg_options_with_spaces(tmp_path, tool):
    with pytest.raises(ValueError, match=r"MMEngine would silently read work_dir='/a/bc'"):
        tool('train_pose_demo').main(['--work-dir', str(tmp_path), '--data-root',
                                      str(tmp_path), '--cfg-options', 'work_dir=/a/b c'])
    assert not list(tmp_path.iterdir())  # refused before any work


def test_cross_check_detects_a_difference(short_run, tmp_path, tool):
    """pycocotools is really evaluating the file: shifted predictions score lower."""
    demo = tool('train_pose_demo')
    pred = glob.glob(osp.join(short_run['work_dir'], 'test_trained', 'predictions.keypoints.json'))
    results = json.load(open(pred[0]))
    gt_file = osp.join(short_run['coco_root'], 'annotations', 'person_keypoints_val.json')
    gt = json.load(open(gt_file))
    perfect = [dict(image_id=a['image_id'], category_id=1, keypoints=a['keypoints'], score=1.0)
               for a in gt['annotations']]
    shifted = [dict(r, keypoints=[v + 15 if i % 3 != 2 else v
                                  for i, v in enumerate(r['keypoints'])]) for r in perfect]
    for name, res in (('perfect', perfect), ('shifted', shifted)):
        json.dump(res, open(tmp_path / f'{name}.json', 'w'))
    assert demo.pycocotools_keypoint_stats(gt_file, str(tmp_path / 'perfect.json'))['AP'] \
        == pytest.approx(1.0)
    assert demo.pycocotools_keypoint_stats(gt_file, str(tmp_path / 'shifted.json'))['AP'] < 0.5
    assert len(results) == 8


def test_resume_continues_from_the_saved_epoch_and_runs_no_code(short_run, tmp_path, mim):
    """``mim train --resume`` from the run's epoch-1 checkpoint, given config texts that would
    write a file (MMEngine runs ``meta['config']`` on resume): it trains epoch 2 only, and
    with litehrnet_mm imported nothing from the checkpoint runs."""
    work_dir, marker = tmp_path / 'crafted run', tmp_path / 'marker'
    work_dir.mkdir()
    checkpoint = torch.load(osp.join(short_run['work_dir'], 'epoch_1.pth'), weights_only=True)
    path = save(with_config_texts(checkpoint, str(marker)), str(work_dir / 'epoch_1.pth'))
    (work_dir / 'last_checkpoint').write_text(path)
    proc = mim('train', 'mmpose', short_run['config'], '--work-dir', str(work_dir), '--resume',
               '--cfg-options', *SHORT, 'train_cfg.max_epochs=2')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [2]' in log and 'Epoch(train) [1]' not in log
    ckpt = torch.load(str(work_dir / 'epoch_2.pth'), weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert not marker.exists()


def test_two_process_training_on_cpu_and_mim_test(short_run, tmp_path, mim):
    work_dir = str(tmp_path / 'ddp')
    proc = mim('train', 'mmpose', short_run['config'], '--work-dir', work_dir, '--launcher',
               'pytorch', '--gpus', '2', '--cfg-options', *SHORT, 'train_cfg.max_epochs=1')
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, log[-3000:]
    assert "backend of env_cfg.dist_cfg is replaced by 'gloo'" in log
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)
    out = str(tmp_path / 'metrics.json')
    mim('test', 'mmpose', short_run['config'], '--checkpoint', checkpoint, '--work-dir',
        work_dir, '--out', out)
    assert 'coco/AP' in json.load(open(out))


def test_mim_test_refuses_a_checkpoint_of_another_model(short_run, tmp_path, mim):
    from mmengine.runner import save_checkpoint

    from litehrnet_mm.models import LiteHRNet
    state = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    path = str(tmp_path / 'lite30.pth')
    save_checkpoint({'state_dict': state, 'meta': {}}, path)
    proc = mim('test', 'mmpose', short_run['config'], '--checkpoint', path, '--work-dir',
               str(tmp_path), check=False)
    assert proc.returncode != 0
    assert 'does not match the model' in proc.stdout + proc.stderr
    assert 'lite30.pth' in proc.stdout + proc.stderr


def test_mpii_short_run_reports_pckh(tmp_path, mim, configs):
    from litehrnet_mm.datasets.synthetic.pose import make_mpii
    root = make_mpii(str(tmp_path / 'mpii'), num_train=8, num_val=4) + '/'
    config = configs.synthetic_mpii
    work_dir = str(tmp_path / 'work')
    proc = mim('train', 'mmpose', config, '--work-dir', work_dir, '--cfg-options', *SHORT,
               'train_cfg.max_epochs=1', f'train_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.headbox_file={root}annotations/mpii_gt_val.mat')
    log = proc.stdout + proc.stderr
    assert 'Epoch(val) [1][' in log and 'Head PCK:' in log and ' PCK: ' in log, log[-3000:]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
