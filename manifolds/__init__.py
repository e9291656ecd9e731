"""Manifolds built from the gaugecnn core: each is an Atlas plus its isometries."""

from .mobius import MobiusShift, MobiusStrip

__all__ = ["MobiusStrip", "MobiusShift"]
