import json

import numpy as np
import pytest
from scipy.io import loadmat

from litehrnet_mm.datasets.synthetic.pose import COCO_NAMES, make_coco_keypoints, make_mpii


def test_coco_annotations_are_consistent(tmp_path):
    root = make_coco_keypoints(str(tmp_path / 'coco'), num_train=12, num_val=4, seed=3)
    for split, n in (('train', 12), ('val', 4)):
        coco = json.load(open(f'{root}/annotations/person_keypoints_{split}.json'))
        assert len(coco['images']) == len(coco['annotations']) == n
        assert coco['categories'][0]['keypoints'] == list(COCO_NAMES)
        for img, ann in zip(coco['images'], coco['annotations']):
            assert (tmp_path / 'coco' / split / img['file_name']).is_file()
            k = np.array(ann['keypoints']).reshape(17, 3)
            x, y, w, h = ann['bbox']
            assert (k[:, 2] == 2).all()
            assert (k[:, 0] >= x).all() and (k[:, 0] <= x + w).all()
            assert (k[:, 1] >= y).all() and (k[:, 1] <= y + h).all()
            # facing the camera: the person's left is on the image's right
            for left, right in ((5, 6), (11, 12), (1, 2), (3, 4)):
                assert k[left, 0] > k[right, 0]


def test_generation_is_deterministic(tmp_path):
    a = make_coco_keypoints(str(tmp_path / 'a'), 3, 2, seed=5)
    b = make_coco_keypoints(str(tmp_path / 'b'), 3, 2, seed=5)
    c = make_coco_keypoints(str(tmp_path / 'c'), 3, 2, seed=6)
    read = lambda r: open(f'{r}/annotations/person_keypoints_train.json').read()  # noqa: E731
    assert read(a) == read(b) != read(c)


def test_mpii_annotations_and_head_boxes(tmp_path):
    root = make_mpii(str(tmp_path / 'mpii'), num_train=5, num_val=3)
    val = json.load(open(f'{root}/annotations/mpii_val.json'))
    train = json.load(open(f'{root}/annotations/mpii_train.json'))
    names = [a['image'] for a in train + val]
    assert len(set(names)) == 8  # ids are unique across splits
    assert all(len(a['joints']) == 16 for a in val)
    boxes = loadmat(f'{root}/annotations/mpii_gt_val.mat')['headboxes_src']
    assert boxes.shape == (2, 2, 3)


def test_an_interrupted_generation_is_never_complete(tmp_path, monkeypatch):
    """The completion marker goes first when writing starts and comes back only at the end,
    so the demos regenerate a set whose writing was interrupted."""
    from litehrnet_mm.datasets.synthetic import pose
    from litehrnet_mm.fileio import is_complete
    root = make_coco_keypoints(str(tmp_path / 'coco'), 2, 1)
    assert is_complete(root)
    written, write = [], pose.write_bytes

    def interrupted(path, data):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(path)
        return write(path, data)

    monkeypatch.setattr(pose, 'write_bytes', interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_coco_keypoints(root, 2, 1, seed=1)
    assert len(written) == 2 and not is_complete(root)
    monkeypatch.setattr(pose, 'write_bytes', write)
    assert is_complete(make_coco_keypoints(root, 2, 1, seed=1))
