"""MMPose's CocoMetric (xtcocotools) and pycocotools' COCOeval agree on predictions whose AP is
well between 0 and 1: the ground truth of the synthetic set with known perturbations."""
import json
import os.path as osp

import numpy as np
import pytest


@pytest.fixture(scope='module')
def val_set(tmp_path_factory):
    """The ground truth of 24 synthetic validation figures (images are not needed)."""
    from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
    root = make_coco_keypoints(str(tmp_path_factory.mktemp('coco')), num_train=0, num_val=24)
    ann_file = osp.join(root, 'annotations', 'person_keypoints_val.json')
    return ann_file, json.load(open(ann_file))['annotations']


def _perturbed(annotations, rng):
    """Per figure: the true keypoints moved by a shift that grows with its index (so OKS
    ranges from 1 to about 0), random joint jitter, and a confidence that falls with the
    shift, except for a few figures given high confidence (so ranking matters)."""
    samples = []
    for i, ann in enumerate(annotations):
        true = np.array(ann['keypoints'], np.float32).reshape(17, 3)[:, :2]
        shift = 0.6 * i
        keypoints = true + shift + rng.normal(0, 0.5 + 0.1 * i, true.shape)
        confidence = 0.95 if i % 7 == 3 else 1.0 - i / (len(annotations) + 1)
        x, y, w, h = ann['bbox']
        samples.append(dict(
            id=ann['id'], img_id=ann['image_id'], gt_instances=dict(bbox_scales=[[w, h]]),
            pred_instances=dict(keypoints=keypoints[None],
                                keypoint_scores=np.full((1, 17), confidence, np.float32))))
    return samples


def test_both_evaluators_agree_at_a_nontrivial_ap(val_set, tmp_path, tool):
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.evaluation.metrics import CocoMetric
    ann_file, annotations = val_set
    metric = CocoMetric(ann_file=ann_file, outfile_prefix=str(tmp_path / 'pred'))
    # MMPose's metainfo file (resolved inside its package)
    metric.dataset_meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    metric.process([], _perturbed(annotations, np.random.default_rng(0)))
    ours = metric.evaluate(len(annotations))
    reference = tool('train_pose_demo').pycocotools_keypoint_stats(
        ann_file, str(tmp_path / 'pred.keypoints.json'))
    assert 0.2 < reference['AP'] < 0.8 and 0.2 < reference['AR'] < 0.9, reference
    for key in ('AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75'):
        assert ours[f'coco/{key}'] == pytest.approx(reference[key], abs=1e-6), key
    # and the predictions rank as built: AP falls when the shifts grow
    worse = _perturbed(annotations, np.random.default_rng(0))
    for sample in worse:
        sample['pred_instances']['keypoints'] += 3.0
    metric.process([], worse)
    assert metric.evaluate(len(annotations))['coco/AP'] < ours['coco/AP'] - 0.05
