"""The synthetic Cityscapes-format set, and the label check that guards MMSeg pipelines."""
import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from litehrnet_mm.datasets.synthetic.cityscapes import USED_CLASSES, make_cityscapes
from litehrnet_mm.datasets import CheckSegLabels


def test_layout_and_labels(tmp_path):
    root = make_cityscapes(str(tmp_path / 'cs'), num_train=3, num_val=2, height=128, width=256)
    for split, n in (('train', 3), ('val', 2)):
        imgs = sorted(glob.glob(f'{root}/leftImg8bit/{split}/synth/*_leftImg8bit.png'))
        labs = sorted(glob.glob(f'{root}/gtFine/{split}/synth/*_gtFine_labelTrainIds.png'))
        assert len(imgs) == len(labs) == n
        for i, lab in zip(imgs, labs):
            assert osp.basename(i)[:-len('_leftImg8bit.png')] == \
                osp.basename(lab)[:-len('_gtFine_labelTrainIds.png')]
            img, seg = mmcv.imread(i), mmcv.imread(lab, flag='unchanged')
            assert img.shape[:2] == seg.shape == (128, 256)
            assert set(np.unique(seg)) <= set(USED_CLASSES) | {255}
            assert len(np.unique(seg)) >= 5  # several classes in every scene


def test_mmseg_dataset_reads_it(tmp_path):
    from mmseg.registry import DATASETS
    root = make_cityscapes(str(tmp_path / 'cs'), num_train=2, num_val=1, height=64, width=128)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(dict(
            type='CityscapesDataset', data_root=root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                      dict(type='litehrnet_mm.CheckSegLabels', num_classes=19),
                      dict(type='PackSegInputs')]))
    assert len(ds) == 2
    sample = ds[0]
    assert tuple(sample['data_samples'].gt_sem_seg.data.shape[-2:]) == (64, 128)


def _results(seg, img_shape=(8, 8)):
    return dict(img=np.zeros((*img_shape, 3), np.uint8), gt_seg_map=seg, img_path='a.png',
                seg_map_path='a_gtFine_labelTrainIds.png')


def test_check_passes_valid_labels():
    seg = np.array([[0, 18], [255, 3]], np.uint8).repeat(4, 0).repeat(4, 1)
    assert CheckSegLabels(19)(_results(seg)) is not None


@pytest.mark.parametrize('seg,shape,message', [
    (np.full((8, 8), 19, np.uint8), (8, 8), r'has ids \[19\] outside 0..18'),
    (np.full((8, 8), 26, np.uint8), (8, 8), r'labelTrainIds'),  # Cityscapes label ids
    (np.zeros((8, 6), np.uint8), (8, 8), r'is 6x8 but its image a.png is 8x8'),
])
def test_check_refuses(seg, shape, message):
    with pytest.raises(ValueError, match=message):
        CheckSegLabels(19)(_results(seg, shape))


def test_check_needs_annotations():
    with pytest.raises(ValueError, match='after LoadAnnotations'):
        CheckSegLabels(19)(dict(img=np.zeros((2, 2, 3)), img_path='x', seg_map_path='y'))
    # inference: no label file at all, nothing to check
    results = dict(img=np.zeros((2, 2, 3)), img_path='x')
    assert CheckSegLabels(19)(results) is results
    with pytest.raises(ValueError, match='num_classes must be a positive int'):
        CheckSegLabels(0)


def test_missing_folder_fails_when_the_dataset_is_built(tmp_path):
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(FileNotFoundError, match='nowhere/leftImg8bit/train'):
            DATASETS.build(dict(
                type='CityscapesDataset', data_root=str(tmp_path / 'nowhere'),
                data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                pipeline=[]))


def test_an_interrupted_generation_is_never_complete(tmp_path, monkeypatch):
    from litehrnet_mm.datasets.synthetic import cityscapes
    from litehrnet_mm.fileio import is_complete
    root = make_cityscapes(str(tmp_path / 'cs'), 1, 1, height=64, width=128)
    assert is_complete(root)

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(cityscapes, 'write_bytes', interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_cityscapes(root, 1, 1, height=64, width=128)
    assert not is_complete(root)
