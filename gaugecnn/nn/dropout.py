"""Dropout that commutes with gauge transforms: whole fields, never single channels of a field.

Zeroing a field ``v`` and rescaling the survivors by ``1/(1-p)`` commutes with ρ(g) when the
mask is one number per field: ``m ρ(g) v = ρ(g) m v``. A mask per channel would not (it
zeroes ``v_1`` but not ``(ρ(g) v)_1``), except on permutation fields, where per-channel
masks are equivariant in distribution (ρ(g) only permutes i.i.d. mask entries).
"""

from __future__ import annotations

import torch
from torch import nn

from ..representations import FieldType
from ._fields import check_channels, check_field_type

__all__ = ["FieldDropout"]


class FieldDropout(nn.Module):
    """Drop whole fields with probability ``p`` in training; the identity in eval mode.

    ``per="field"`` (default): one mask entry per sample and field, shared by the field's
    channels and by every pixel of every chart, like ``nn.Dropout2d`` for fields (it commutes
    with gauge transforms and isometries exactly, for a given mask). ``per="channel"``: plain
    ``nn.Dropout``, allowed only when every field is a permutation representation.

    Args:
        field_type: field type of input and output.
        p: the probability of dropping a field (or a channel); kept values are scaled by ``1 / (1 - p)``.
        per: ``"field"`` or ``"channel"``, as above.

    Shapes: ``(batch, field_type.size, *spatial) -> same``.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> from gaugecnn.testing import SeededTraining, assert_gauge_equivariant
        >>> drop = FieldDropout(FieldType(strip.group, "3 regular + 2 sign"), p=0.5)
        >>> assert_gauge_equivariant(SeededTraining(drop), strip)  # each random mask commutes with ρ
        0.0
    """

    field_of_channel: torch.Tensor

    def __init__(self, field_type: FieldType, p: float = 0.5, per: str = "field"):
        super().__init__()
        check_field_type(field_type, "field_type")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if per not in ("field", "channel"):
            raise ValueError(f"per must be 'field' or 'channel', got {per!r}")
        if per == "channel" and not all(r.is_permutation for r in field_type.reps):
            others = sorted({r.name for r in field_type.reps if not r.is_permutation})
            raise ValueError(
                f"per-channel dropout does not commute with the fields {others} of '{field_type}' (only permutation "
                "fields such as trivial and regular allow it); use per='field'"
            )
        self.in_type = self.out_type = field_type
        self.p = p
        self.per = per
        field_of = torch.repeat_interleave(torch.arange(len(field_type)), torch.tensor([r.dim for r in field_type.reps]))
        self.register_buffer("field_of_channel", field_of, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(x, self.in_type, "FieldDropout")
        if not self.training or self.p == 0.0:
            return x
        if self.per == "channel":
            return nn.functional.dropout(x, self.p, True)
        keep = torch.empty(x.shape[0], len(self.in_type), *(1,) * (x.dim() - 2), device=x.device, dtype=x.dtype).bernoulli_(1 - self.p)
        return x * keep.index_select(1, self.field_of_channel).div_(1 - self.p)

    def extra_repr(self) -> str:
        return f"'{self.in_type}', p={self.p}, per={self.per}"
