"""Manifolds built from the gaugecnn core: each is an Atlas plus its isometries."""

from .cube_sphere import CubeRotation, CubeSphere
from .flat import Cylinder, KleinBottle, Torus
from .icosphere import IcoSphere, icosahedral_rotations, icosahedron_vertices
from .mobius import MobiusStrip
from .plane import Plane

__all__ = [
    "CubeRotation",
    "CubeSphere",
    "Cylinder",
    "IcoSphere",
    "KleinBottle",
    "MobiusStrip",
    "Plane",
    "Torus",
    "icosahedral_rotations",
    "icosahedron_vertices",
]
