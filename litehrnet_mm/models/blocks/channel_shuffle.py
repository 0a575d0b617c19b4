import torch


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet).

    ``[a0 a1 .. | b0 b1 ..]`` becomes ``[a0 b0 a1 b1 ..]``. Only the channel axis is reshaped,
    with a constant group count, so batch and spatial sizes stay dynamic in an export.
    """
    return x.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


def shuffle_concat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(torch.cat([a, b], dim=1), 2)``: the end of a shuffle block.

    For halves of equal width it is one copy, which interleaves their channels directly
    (``[a0 b0 a1 b1 ..]``); forward and backward both skip the intermediate concatenation.
    """
    if a.shape[1] == b.shape[1]:
        return torch.stack([a, b], dim=2).flatten(1, 2)
    return channel_shuffle(torch.cat([a, b], dim=1), 2)


def split_halves(x: torch.Tensor):
    """Split a feature map into its first and second half of channels.

    Slicing with a constant bound exports more widely than ``chunk``.
    """
    half = x.shape[1] // 2
    return x[:, :half], x[:, half:]
