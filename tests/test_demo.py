"""The README's main command until training lands: config -> MMPose model -> image -> picture."""
import importlib.util
import os.path as osp

import mmcv
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _demo():
    spec = importlib.util.spec_from_file_location('demo_pose',
                                                  osp.join(ROOT, 'tools', 'demo_pose.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_runs_and_draws(tmp_path):
    demo = _demo()
    with_kpts, without = tmp_path / 'vis.jpg', tmp_path / 'box_only.jpg'
    # kpt_thr=0 draws every keypoint and limb; a threshold above 1 draws only the box.
    results = demo.main(['--out', str(with_kpts), '--kpt-thr', '0'])
    demo.main(['--out', str(without), '--kpt-thr', '1.1'])
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    a, b = mmcv.imread(str(with_kpts)), mmcv.imread(str(without))
    assert a.shape == b.shape == demo.synthetic_person().shape
    changed = (np.abs(a.astype(int) - b.astype(int)).max(-1) > 100).sum()
    assert changed > 100, f'only {changed} pixels show keypoints'
