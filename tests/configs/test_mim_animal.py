"""The animal family end to end, short: its synthetic set, ``mim train`` and ``mim test``
with its synthetic config, and a fast backend against the plain model (tests/keypoint_tasks.py)."""
import pytest

from tests.keypoint_tasks import check_fast_backend, check_metrics, family_run


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return family_run('animal', tmp_path_factory.mktemp('animal'))


def test_trains_and_evaluates_through_mim(run):
    check_metrics(run, ('coco/AP', 'coco/AR'))


def test_fast_backend_gives_the_plain_models_keypoints(run, tmp_path):
    check_fast_backend(run, tmp_path)
