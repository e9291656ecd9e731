"""Atlases: pixel-grid charts glued along their edges, one module per concept.

- ``gluings``: gluings, the transition elements they imply, and the crossings of edges;
- ``topology``: connectedness, orientability, Euler characteristic, vertex angles, cone points;
- ``maps``: halo resolution and the FieldMaps of an atlas (transport padding, translations,
  gauge transforms);
- ``derived``: re-oriented, restricted and rescaled atlases;
- ``value``: ``Atlas`` itself, a thin immutable value over the above.
"""

from .gluings import CORNERS, EDGES, Gluing
from .value import Atlas

__all__ = ["Atlas", "Gluing", "EDGES", "CORNERS"]
