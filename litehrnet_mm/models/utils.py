"""Argument checks shared by the backbone and the neck."""
from typing import Any, Tuple


def check_out_indices(out_indices: Any, num_outputs: int, owner: str,
                      what: str = 'one per resolution') -> Tuple[int, ...]:
    """``out_indices`` as a tuple of ints in ``[0, num_outputs)``; a single int is accepted.

    Raises:
        ValueError: naming ``owner``, the valid range and what was given.
    """
    indices = tuple(out_indices) if isinstance(out_indices, (list, tuple)) else (out_indices, )
    if not indices or any(isinstance(i, bool) or not isinstance(i, int)
                          or not 0 <= i < num_outputs for i in indices):
        raise ValueError(f'{owner}: out_indices must be ints in [0, {num_outputs - 1}] '
                         f'({what}), got {out_indices!r}')
    return indices
