"""Float64 constants of modules that stay exact through dtype casts.

Layers hold exact constants -- kernel bases, transport coefficients such as ``√3/2``, averaging
weights such as ``1/3`` -- as float64 buffers and cast them to the input's dtype where they are
used. ``module.float()`` would round such a buffer, and ``.double()`` could not restore it, so a
module cast to float32 and back would be less equivariant than a fresh one. ``ExactConstants``
keeps the exact values and puts them back, on the buffer's new device and in float64, after
every ``.to()``, ``.float()``, ``.half()``, ``.cuda()`` ...
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["ExactConstants"]


class ExactConstants(nn.Module):
    """A module whose float64 constants (non-persistent buffers) survive dtype casts exactly."""

    def __init__(self) -> None:
        super().__init__()
        self._exact: dict[str, torch.Tensor] = {}

    def register_constant(self, name: str, value: np.ndarray | torch.Tensor) -> None:
        """Register ``value`` as the float64 buffer ``name`` (not saved in the state dict), kept exact.

        Args:
            name: the buffer's name.
            value: its value (copied).
        """
        if isinstance(value, torch.Tensor):
            exact = value.detach().to(device="cpu", dtype=torch.float64).clone()
        else:
            exact = torch.from_numpy(np.array(value, dtype=np.float64))  # a copy: the source may be read-only
        self._exact[name] = exact
        self.register_buffer(name, exact.clone(), persistent=False)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        for name, exact in self._exact.items():
            current = self._buffers.get(name)
            if current is not None and current.dtype != torch.float64:
                self._buffers[name] = exact.to(device=current.device)
        return self
