"""A config's model with its initial weights, saved as an MMEngine checkpoint (the untrained
baseline that the demos evaluate with ``mim test``)."""
from mmengine.runner import save_checkpoint

from ..builder import build_initialised_model
from ..fileio import atomic_path


def save_initial_weights(config: str, path: str) -> str:
    """Build the model of ``config`` (MMPose or MMSeg), initialise it, save it to ``path``
    (atomically: an interrupted save leaves no file there)."""
    model = build_initialised_model(config)
    with atomic_path(path) as tmp:
        save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, tmp)
    return path
