"""A config's model with its initial weights, saved as an MMEngine checkpoint (the untrained
baseline that the demos evaluate with ``mim test``)."""


def save_initial_checkpoint(config: str, path: str) -> str:
    """Build the model of ``config`` (MMPose or MMSeg), initialise it, save it to ``path``."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import save_checkpoint
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmengine')
    import_module = {'mmpose': 'mmpose.models', 'mmseg': 'mmseg.models'}.get(scope)
    if import_module:
        __import__(import_module)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    model.init_weights()
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path
