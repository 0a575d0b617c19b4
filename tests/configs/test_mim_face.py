"""The face family end to end, short: its synthetic set, ``mim train`` and ``mim test``
with its synthetic config, and a fast backend against the plain model (tests/keypoint_tasks.py)."""
import pytest

from tests.keypoint_tasks import check_fast_backend, check_metrics, family_run


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return family_run('face', tmp_path_factory.mktemp('face'))


def test_trains_and_evaluates_through_mim(run):
    check_metrics(run, ('NME',))


def test_fast_backend_gives_the_plain_models_keypoints(run, tmp_path, artefact_cache):
    """Through ONNX Runtime here (98 heatmaps from an exported graph); the other families
    use the deploy form."""
    check_fast_backend(run, tmp_path, 'onnxruntime', artefact_cache)
