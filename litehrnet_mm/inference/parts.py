"""The part of an MMPose estimator or MMSeg segmentor that a backend runs, named by its
``graph``:

- ``'features'``: backbone and neck of a pose estimator (MMPose's head, flip test and decoding
  stay in PyTorch: the head is one small convolution);
- ``'logits'``: backbone, neck and decode head of a segmentor (MMSeg resizes and crops);
- ``'heatmaps'``: the whole pose estimator, as ``tools/export_onnx.py`` exports it.
"""
import copy

import torch
from torch import nn

from ..deploy import to_deploy_model

__all__ = ['GRAPH_PARTS', 'GraphPart', 'deploy_part', 'tensor_graph']

#: the parts of an estimator or segmentor that each graph runs
GRAPH_PARTS = {'features': ('backbone', 'neck'), 'logits': ('backbone', 'neck', 'decode_head'),
               'heatmaps': ('backbone', 'neck', 'head')}


class GraphPart(nn.Module):
    """The modules of a graph (see :data:`GRAPH_PARTS`) as one ``forward(image) -> output``:
    a tuple of feature maps for ``'features'``, one tensor for the others."""

    def __init__(self, model: nn.Module, graph: str):
        super().__init__()
        if graph not in GRAPH_PARTS:
            raise ValueError(f'graph must be one of {sorted(GRAPH_PARTS)}, got {graph!r}')
        self.graph = graph
        for name in GRAPH_PARTS[graph]:
            setattr(self, name, getattr(model, name, None))

    def forward(self, x: torch.Tensor):
        x = self.backbone(x)
        if self.neck is not None:
            x = self.neck(x)
        if self.graph == 'features':
            return tuple(x)
        head = self.decode_head if self.graph == 'logits' else self.head
        return head.forward(x)


def deploy_part(model: nn.Module, graph: str) -> GraphPart:
    """A copy of ``model``'s modules of ``graph``, its Lite-HRNet backbone in deploy form; the
    model itself is left as it is (its state dict still loads checkpoints strictly)."""
    part = copy.deepcopy(GraphPart(model, graph)).eval()
    return to_deploy_model(part)


def tensor_graph(model: nn.Module) -> str:
    """The graph of ``model(x, mode='tensor')``: ``'logits'`` for a segmentor, ``'heatmaps'``
    for a pose estimator."""
    return 'logits' if hasattr(model, 'decode_head') else 'heatmaps'
