"""``GaugeSequential``: an ``nn.Sequential`` that checks, when it is built, that its layers fit together.

A tensor does not know its field type or its atlas; only the layers do. Two layers fit when the
field type one writes is the one the next reads and they work on the same atlas: a conv writing
``2 regular`` followed by one reading ``8 trivial`` has the same number of channels and would run
silently, as would a torus layer after a plane layer of the same size. The container compares
each layer's ``in_type`` and input atlas (``in_atlas``, else ``atlas``) with what the layers
before it produce (``out_type``; ``out_atlas``, else ``atlas``; layers without an atlas keep the
one before them) and names both layers where they differ. Layers that declare nothing (plain
``torch.nn`` modules) end the check until the next layer that declares its types.
"""

from __future__ import annotations

from torch import nn

from ..manifold import atlas_of

__all__ = ["GaugeSequential"]

_UNCHANGED = object()


def _signature(layer: nn.Module):
    """``(in_type, in_space, out_type, out_space)`` a layer declares; ``_UNCHANGED`` for a space it does not touch."""
    in_type = getattr(layer, "in_type", None)
    out_type = getattr(layer, "out_type", None)
    channels = getattr(layer, "in_channels", None), getattr(layer, "out_channels", None)
    attributes = {name: getattr(layer, name) for name in ("in_atlas", "atlas", "out_atlas") if hasattr(layer, name)}
    in_space = attributes.get("in_atlas", attributes.get("atlas", _UNCHANGED))
    out_space = attributes.get("out_atlas", attributes.get("atlas", _UNCHANGED))
    return in_type, in_space, out_type, out_space, channels


def _same_space(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return atlas_of(a) == atlas_of(b)


class GaugeSequential(nn.Sequential):
    """``nn.Sequential`` that refuses layers that do not fit the ones before them (field types, atlases).

    Args:
        *layers: the modules, in order (as for ``nn.Sequential``).

    Examples:
        >>> from gaugecnn import Atlas, FieldType, cyclic_group
        >>> from gaugecnn.nn import GaugeConv, ELU
        >>> image = Atlas(cyclic_group(4), (8, 8), 1, [])
        >>> scalar, hidden = FieldType(image.group, "1 trivial"), FieldType(image.group, "2 regular")
        >>> net = GaugeSequential(GaugeConv(image, scalar, hidden, 3), ELU(hidden))
        >>> GaugeSequential(GaugeConv(image, scalar, hidden, 3), ELU(FieldType(image.group, "8 trivial")))
        Traceback (most recent call last):
        ...
        ValueError: layer 1 (ELU) reads fields of type '8 trivial', but layer 0 (GaugeConv) writes '2 regular'
    """

    def __init__(self, *layers: nn.Module):
        super().__init__(*layers)
        self.check()

    def check(self) -> None:
        """Check that every layer fits the layers before it; raise ``ValueError`` naming both otherwise."""
        out_type = out_space = None
        writer = None  # (index, name) of the layer the current type / space comes from
        space_writer = None
        for index, layer in enumerate(self):
            name = f"layer {index} ({type(layer).__name__})"
            in_type, in_space, layer_out_type, layer_out_space, (in_ch, out_ch) = _signature(layer)
            if in_type is None and in_space is _UNCHANGED and in_ch is None:
                out_type = out_space = writer = space_writer = None  # a plain module: nothing known after it
                continue
            if in_type is not None and out_type is not None and in_type != out_type:
                raise ValueError(f"{name} reads fields of type '{in_type}', but {writer} writes '{out_type}'")
            if in_ch is not None and out_type is not None and in_ch != out_type.size:
                raise ValueError(f"{name} reads {in_ch} channels, but {writer} writes {out_type.size} ('{out_type}')")
            if in_space is not _UNCHANGED and space_writer is not None and not _same_space(in_space, out_space):
                raise ValueError(f"{name} works on {in_space!r}, but {space_writer} leaves the fields on {out_space!r}")
            if layer_out_type is not None:
                out_type, writer = layer_out_type, name
            elif out_ch is not None:
                out_type, writer = None, None  # plain channels: no field type to compare
            if layer_out_space is not _UNCHANGED:
                out_space, space_writer = layer_out_space, name
