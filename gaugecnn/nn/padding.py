"""Atlas-bound modules and transport padding."""

from __future__ import annotations

import numpy as np
import torch

from .._constants import ExactConstants
from ..atlas import Atlas
from ..fieldmap import FieldGather, spatial_shape
from ..manifold import Manifold, Space
from ..representations import FieldType
from ._fields import check_field_type, check_floating

__all__ = ["AtlasModule", "TransportPad", "check_field", "check_group"]


def check_field(x: torch.Tensor, field_type: FieldType, spatial: tuple[int, ...], where: str) -> None:
    """Raise a clear error unless ``x`` has shape ``(batch, field_type.size, *spatial)``."""
    expected = (field_type.size, *spatial)
    check_floating(x, where)
    if x.dim() != 1 + len(expected) or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{where} expects a tensor of shape (batch, {', '.join(map(str, expected))}) -- "
            f"{field_type.size} channels for field type '{field_type}' on spatial shape {spatial} -- "
            f"but got {tuple(x.shape)}"
        )


def check_group(field_type: FieldType, atlas: Space, what: str) -> None:
    """Raise unless the field type is of the atlas's structure group."""
    check_field_type(field_type, what)
    if field_type.group != atlas.group:
        raise ValueError(
            f"{what} is of group {field_type.group.name} but the atlas has structure group {atlas.group.name}; "
            "build the field type from atlas.group"
        )


class AtlasModule(ExactConstants):
    """A module whose index tensors are derived from an atlas.

    ``rebind(atlas)`` rebuilds them for another atlas of the same grid (for instance the
    same manifold with re-oriented charts); parameters are untouched. Float64 constants
    registered with ``register_constant`` stay exact through dtype casts.
    """

    cones: torch.Tensor | None
    blind: torch.Tensor | None

    def __init__(self, atlas: Space):
        super().__init__()
        if not isinstance(atlas, (Atlas, Manifold)):
            raise TypeError(f"expected a gaugecnn Atlas or Manifold, got {type(atlas).__name__}")
        self.atlas = atlas

    def _bind(self) -> None:
        raise NotImplementedError

    def _bind_cone_mask(self, atlas: Space, output_mask=None) -> None:
        """Buffers ``cones`` (``atlas``'s cone pixels, zeroed in the input) and ``blind`` (zeroed in the
        output: ``output_mask`` if given, else the cone pixels), boolean in tensor layout, or None."""

        def buffer(mask):
            return torch.from_numpy(np.array(mask)).reshape(spatial_shape(atlas.grid)) if mask.any() else None

        cones = atlas.cone_pixels
        self.register_buffer("cones", buffer(cones), persistent=False)
        self.register_buffer("blind", buffer(cones if output_mask is None else output_mask), persistent=False)

    def _zero_cones(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with the cone pixels set to zero: they are never read (the values there depend on the frame)."""
        return x if self.cones is None else x.masked_fill(self.cones, 0.0)

    def _zero_blind(self, y: torch.Tensor) -> torch.Tensor:
        """``y`` with the pixels zeroed whose window covers a cone point (for 3 x 3 windows: the cone pixels)."""
        return y if self.blind is None else y.masked_fill(self.blind, 0.0)

    def rebind(self, atlas: Space) -> None:
        """Bind the module to another atlas of the same grid and group (e.g. one with other gluings), in place.

        Index buffers are rebuilt on the device the module is on; learned parameters are kept.
        """
        if atlas.grid != self.atlas.grid or atlas.group != self.atlas.group:
            raise ValueError(f"cannot rebind a module on {self.atlas!r} to {atlas!r}: grids or groups differ")
        device = next(iter(self.buffers()), torch.empty(0)).device
        self.atlas = atlas
        self._bind()
        # device only: index buffers keep their dtype, coefficients stay float64 and are cast on use
        self.to(device=device)


class TransportPad(AtlasModule):
    """Pad every chart by ``width`` pixels with features transported from its neighbours.

    Halo pixels beyond boundaries are zero. With ``transport=False`` the gauge action is
    left out: the naive padding a conventional CNN on the same atlas would use (not gauge
    equivariant).

    Args:
        atlas: the atlas of the input.
        field_type: field type of input and output (``C = field_type.size`` channels).
        width: halo width in pixels.
        transport: apply ``ρ`` of the transition elements (the default).

    Shapes: ``(batch, C, *atlas.shape) -> (batch, C, *padded shape)``, each chart ``H + 2 width``
    by ``W + 2 width``.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> pad = TransportPad(strip, FieldType(strip.group, "1 sign"), 1)
        >>> x = torch.arange(40.0).reshape(1, 1, 5, 8)
        >>> pad(x)[0, 0, :, 0].tolist()  # the left halo: the right end, upside down and sign-flipped
        [0.0, -39.0, -31.0, -23.0, -15.0, -7.0, 0.0]
    """

    def __init__(self, atlas: Space, field_type: FieldType, width: int, transport: bool = True):
        super().__init__(atlas)
        check_group(field_type, atlas, "field_type")
        self.field_type, self.width, self.transport = field_type, width, transport
        self.in_type = self.out_type = field_type
        self.out_atlas = None  # a padded grid, not a field on an atlas
        self._bind()

    def _bind(self) -> None:
        fmap = self.atlas.padding_map(self.width)
        self.gather = FieldGather(fmap if self.transport else fmap.without_gauge(), self.field_type)
        self._bind_cone_mask(self.atlas)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.field_type, self.atlas.shape, type(self).__name__)
        return self.gather(self._zero_cones(x))  # cone pixels (vertex grids) are never read
