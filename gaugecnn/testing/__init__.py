"""Public checks: gauge and isometry equivariance of any module, and ``check_manifold`` for a manifold of one's own.

Both equivariance helpers run the module in eval mode, in ``dtype`` (float64 by default), on
random input, and compare ``module(T x)`` with ``T module(x)``. The error is measured relative to
the output's largest magnitude and must stay below a dtype-aware tolerance (``tolerance(dtype)``):
float64 1e-10, float32 1e-4, float16 1e-2, bfloat16 5e-2. ``check_manifold`` runs them on every
layer of ``gaugecnn.nn`` (``layer_suite``) and checks a manifold's geometry against its gluings.
"""

from .equivariance import SeededTraining, assert_gauge_equivariant, assert_isometry_equivariant, relative_error, tolerance
from .manifold_check import CheckResult, ManifoldReport, check_manifold
from .suite import layer_suite, representative_field_types

__all__ = [
    "assert_gauge_equivariant",
    "assert_isometry_equivariant",
    "tolerance",
    "relative_error",
    "SeededTraining",
    "check_manifold",
    "ManifoldReport",
    "CheckResult",
    "layer_suite",
    "representative_field_types",
]
