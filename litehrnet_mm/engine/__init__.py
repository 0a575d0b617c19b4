"""Runner helpers. ``litehrnet_mm.engine.cpu_ddp`` is not imported here: importing it is the
switch that enables CPU data-parallel training (see its docstring)."""
from .keypoint_count_hook import KeypointCountHook
from .strict_checkpoint_hook import StrictCheckpointHook

__all__ = ['KeypointCountHook', 'StrictCheckpointHook']
