"""gaugecnn: gauge-equivariant (coordinate independent) CNNs on atlases of pixel-grid charts.

The core: structure groups, representations and field types, steerable kernel bases,
atlases with derived transition elements, manifolds (an atlas with its geometry), and the
FieldMap primitive behind transport padding, isometries and gauge transforms. Layers live in ``gaugecnn.nn``, equivariance
checks in ``gaugecnn.testing``.
"""

from .atlas import Atlas, Gluing
from .caching import clear_caches
from .fieldmap import FieldMap
from .groups import StructureGroup, cyclic_group, dihedral_group, flip_group, o2_group, so2_group, trivial_group
from .isometry import ChartRotation, Isometry, RigidMotion, Translation
from .kernels import bias_basis, harmonic_basis, kernel_basis, kernel_support, ring_functions, steerability_error
from .lattices import Lattice, hexagonal_lattice, square_lattice
from .manifold import DerivedManifold, Manifold
from .representations import (
    FieldType,
    Representation,
    direct_sum,
    irrep,
    irreps,
    regular,
    restrict,
    sign,
    tangent,
    trivial,
)

__version__ = "0.1.0"

__all__ = [
    "Atlas",
    "ChartRotation",
    "DerivedManifold",
    "FieldMap",
    "FieldType",
    "Gluing",
    "Isometry",
    "Lattice",
    "Manifold",
    "Representation",
    "RigidMotion",
    "Translation",
    "StructureGroup",
    "bias_basis",
    "clear_caches",
    "cyclic_group",
    "dihedral_group",
    "direct_sum",
    "flip_group",
    "harmonic_basis",
    "hexagonal_lattice",
    "irrep",
    "irreps",
    "kernel_basis",
    "kernel_support",
    "o2_group",
    "regular",
    "restrict",
    "ring_functions",
    "sign",
    "so2_group",
    "square_lattice",
    "steerability_error",
    "tangent",
    "trivial",
    "trivial_group",
]
