"""Manifolds built from the gaugecnn core: each is an atlas with its geometry (embedding, isometries, resolutions)."""

from .cube_sphere import CubeRotation, CubeSphere
from .flat import Cylinder, KleinBottle, Torus
from .healpix import HEALPixSphere, nest_to_ring, ring_to_nest
from .icosphere import IcoSphere, icosahedral_rotations, icosahedron_vertices
from .mesh import MeshSurface, MeshSymmetry
from .mesh_examples import cube_mesh, icosahedron_mesh, quad_grid_mesh
from .mobius import MobiusStrip
from .plane import Plane

__all__ = [
    "CubeRotation",
    "CubeSphere",
    "Cylinder",
    "HEALPixSphere",
    "IcoSphere",
    "KleinBottle",
    "MeshSurface",
    "MeshSymmetry",
    "MobiusStrip",
    "Plane",
    "Torus",
    "cube_mesh",
    "icosahedron_mesh",
    "icosahedral_rotations",
    "icosahedron_vertices",
    "nest_to_ring",
    "quad_grid_mesh",
    "ring_to_nest",
]
