"""A config's model with its initial weights, saved as an MMEngine checkpoint (the untrained
baseline that the demos evaluate with ``mim test``)."""


def save_initial_weights(config: str, path: str) -> str:
    """Build the model of ``config`` (MMPose or MMSeg), initialise it, save it to ``path``."""
    from mmengine.runner import save_checkpoint

    from ..apis import build_initialised_model
    model = build_initialised_model(config)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path
