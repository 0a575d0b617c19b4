"""The synthetic keypoint sets (litehrnet_mm.datasets.synthetic): each loads through the stock
MMPose data set of the real config that reads it, and the flip pairs of the metainfo map a
mirrored instance onto itself."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from litehrnet_mm.datasets.synthetic import animal, face
from litehrnet_mm.datasets.synthetic.common import keypoint_names, metainfo
from litehrnet_mm.datasets.synthetic.tasks import TASKS, main, make, writer
from litehrnet_mm.fileio import is_complete
from tests.conftest import ROOT

_C = osp.join(ROOT, 'configs')
#: each set and the real config whose layout it copies
REAL_CONFIGS = {
    'coco_wholebody': 'wholebody_2d_keypoint/topdown_heatmap/coco-wholebody/'
                      'td-hm_litehrnet-18_8xb64-210e_coco-wholebody-256x192.py',
    'coco_wholebody_hand': 'hand_2d_keypoint/topdown_heatmap/coco_wholebody_hand/'
                           'td-hm_litehrnet-18_8xb32-210e_coco-wholebody-hand-256x256.py',
    'onehand10k': 'hand_2d_keypoint/topdown_heatmap/onehand10k/'
                  'td-hm_litehrnet-18_8xb64-210e_onehand10k-256x256.py',
    'rhd': 'hand_2d_keypoint/topdown_heatmap/rhd2d/td-hm_litehrnet-18_8xb64-210e_rhd2d-256x256.py',
    'freihand': 'hand_2d_keypoint/topdown_heatmap/freihand2d/'
                'td-hm_litehrnet-18_8xb64-100e_freihand2d-224x224.py',
    'wflw': 'face_2d_keypoint/topdown_heatmap/wflw/td-hm_litehrnet-18_8xb64-60e_wflw-256x256.py',
    '300w': 'face_2d_keypoint/topdown_heatmap/300w/td-hm_litehrnet-18_8xb64-60e_300w-256x256.py',
    'cofw': 'face_2d_keypoint/topdown_heatmap/cofw/td-hm_litehrnet-18_8xb64-60e_cofw-256x256.py',
    'coco_wholebody_face': 'face_2d_keypoint/topdown_heatmap/coco_wholebody_face/'
                           'td-hm_litehrnet-18_8xb32-60e_coco-wholebody-face-256x256.py',
    'ap10k': 'animal_2d_keypoint/topdown_heatmap/ap10k/'
             'td-hm_litehrnet-18_8xb64-210e_ap10k-256x256.py',
    'animalpose': 'animal_2d_keypoint/topdown_heatmap/animalpose/'
                  'td-hm_litehrnet-18_8xb64-210e_animalpose-256x256.py',
    'macaque': 'animal_2d_keypoint/topdown_heatmap/macaque/'
               'td-hm_litehrnet-18_8xb64-210e_macaque-256x192.py',
    'custom': 'custom_keypoints/td-hm_litehrnet-18_1xb16-30e_house-5kpt-128x128.py',
}
NUM_TRAIN, NUM_VAL = 4, 2


def test_every_keypoint_set_has_a_real_config():
    assert set(TASKS) - {'coco', 'mpii'} == set(REAL_CONFIGS)


@pytest.fixture(scope='module')
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp('keypoint_sets')
    return {task: make(task, str(root / task), NUM_TRAIN, NUM_VAL) for task in REAL_CONFIGS}


def _dataset(cfg, split, data_root):
    from mmpose.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmpose')
    dataset = cfg[f'{split}_dataloader'].dataset.copy()
    dataset.update(data_root=data_root + '/', bbox_file=None, test_mode=split != 'train')
    if dataset.get('bbox_file', 1) is None:
        dataset.pop('bbox_file')
    return DATASETS.build(dataset)


@pytest.mark.parametrize('task', sorted(REAL_CONFIGS))
def test_set_loads_through_the_real_configs_data_set(task, sets):
    """Train, val and test splits as the real config reads them (stock data set classes,
    their metainfo): one instance per image, every keypoint labelled inside its image, and
    the real training pipeline makes a target with a Gaussian per keypoint."""
    cfg = Config.fromfile(osp.join(_C, REAL_CONFIGS[task]))
    assert is_complete(sets[task])
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL), ('test', NUM_VAL)):
        dataset = _dataset(cfg, split, sets[task])
        k = dataset.metainfo['num_keypoints']
        assert k == cfg.model.head.out_channels
        # COCO-WholeBody's hand and face readers take one hand or face per image
        assert len(dataset) == num, (split, len(dataset))
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            kpts, vis = info['keypoints'][0], info['keypoints_visible'][0]
            assert kpts.shape == (k, 2)
            h, w = info.get('img_shape') or _image_size(info['img_path'])
            labelled = vis > 0
            if task != 'coco_wholebody':  # there the hands and feet may leave the image
                assert labelled.all(), (task, i)
            assert (kpts[labelled] >= 0).all() and (kpts[labelled, 0] < w).all() \
                and (kpts[labelled, 1] < h).all()
    # the val pipeline (no augmentation) with the real config's target encoder: every
    # keypoint inside the crop, a whole Gaussian for each
    cfg.train_dataloader.dataset.pipeline = cfg.val_pipeline[:-1] + [
        dict(type='GenerateTarget', encoder=cfg.codec), dict(type='PackPoseInputs')]
    packed = _dataset(cfg, 'train', sets[task])[0]
    assert tuple(packed['inputs'].shape[1:]) == tuple(cfg.codec['input_size'][::-1])
    heatmaps = packed['data_samples'].gt_fields.heatmaps.numpy()
    weights = packed['data_samples'].gt_instance_labels.keypoint_weights.numpy()[0]
    labelled = packed['data_samples'].gt_instances.keypoints_visible[0] > 0
    assert heatmaps.shape[0] == k and labelled.sum() >= 0.8 * k
    assert ((weights > 0) == labelled).all()
    assert (heatmaps.reshape(k, -1).max(1)[labelled] > 0.99).all()


def _image_size(path):
    import cv2
    return cv2.imread(path).shape[:2]


def _flip_indices(metainfo_file):
    return metainfo(metainfo_file)['flip_indices']


@pytest.mark.parametrize('scheme,metainfo', [('wflw', 'wflw'), ('300w', '300w'),
                                             ('cofw', 'cofw'), ('300w', 'coco_wholebody_face')])
def test_face_landmarks_follow_the_flip_pairs(scheme, metainfo):
    """A frontal face mirrored is the face with its landmarks renamed by the flip pairs: the
    left/right order of every contour is the data set's (so flip augmentation is right)."""
    flip = _flip_indices(f'configs/_base_/datasets/{metainfo}.py')
    for seed in range(3):
        pts = face.landmarks(face.face_model(np.random.default_rng(seed)), scheme)
        mirrored = pts[flip] * [-1, 1]
        np.testing.assert_allclose(mirrored, pts, atol=1e-9)
        assert len(np.unique(pts.round(6), axis=0)) == len(pts)  # no two landmarks coincide


@pytest.mark.parametrize('dataset', sorted(animal.LAYOUTS))
def test_animal_keypoints_follow_the_flip_pairs(dataset):
    """An animal facing left is the mirror of the same animal facing right, with its
    keypoints renamed by the flip pairs (its left side is the one toward the camera when it
    faces right)."""
    meta = animal.LAYOUTS[dataset][0]
    names, flip = keypoint_names(meta), _flip_indices(meta)
    from litehrnet_mm.datasets.synthetic.common import transform
    model = animal.animal_model(np.random.default_rng(0))
    right = animal.animal_keypoints(transform(model, (0, 0), 1, 0), names, dataset, True)
    left = animal.animal_keypoints(transform(model, (0, 0), 1, 0, mirror=True), names, dataset,
                                   False)
    np.testing.assert_allclose(left, (right * [-1, 1])[flip], atol=1e-9)
    assert len(np.unique(right.round(6), axis=0)) == len(right)


def test_custom_metainfo_matches_the_generator():
    from litehrnet_mm.datasets.synthetic import custom
    meta = osp.join(_C, 'custom_keypoints', 'house_5kpt_metainfo.py')
    assert tuple(keypoint_names(meta)) == custom.NAMES
    assert list(_flip_indices(meta)) == [0, 2, 1, 4, 3]


def test_writing_is_deterministic(tmp_path):
    a = make('cofw', str(tmp_path / 'a'), 3, 1, seed=5)
    b = make('cofw', str(tmp_path / 'b'), 3, 1, seed=5)
    c = make('cofw', str(tmp_path / 'c'), 3, 1, seed=6)
    ann = 'annotations/cofw_train.json'
    read = lambda root: json.load(open(osp.join(root, ann)))  # noqa: E731
    assert read(a) == read(b) != read(c)
    assert open(osp.join(a, 'images', '000001.jpg'), 'rb').read() == \
        open(osp.join(b, 'images', '000001.jpg'), 'rb').read()


def test_unknown_set_is_refused_with_the_list():
    with pytest.raises(ValueError, match=r"unknown synthetic keypoint set 'wflw98'.*wflw, 300w"):
        writer('wflw98')
    with pytest.raises(ValueError, match="unknown face data set 'aflw'"):
        face.make_face('/nonexistent', scheme='aflw')


def test_command_line(tmp_path, capsys):
    main(['--list'])
    listed = capsys.readouterr().out.split()
    assert all(task in listed for task in TASKS)
    main(['--task', 'rhd', '--out', str(tmp_path / 'rhd'), '--num-train', '2', '--num-val', '1'])
    coco = json.load(open(tmp_path / 'rhd' / 'annotations' / 'rhd_train.json'))
    assert len(coco['images']) == 2
    # RHD's order: each finger from its tip (MMPose's rhd2d metainfo)
    assert coco['categories'][0]['keypoints'][1:5] == ['thumb4', 'thumb3', 'thumb2', 'thumb1']
    with pytest.raises(SystemExit):
        main([])
