"""``check_manifold``: the checks a manifold of one's own should pass, in one call, with a readable report.

1. **Embedding** (where there is one): every pixel at its own point, and every pair of pixels
   that the gluings make neighbours about one pixel apart in R³ -- a gluing that is valid
   but wrong (two edges' partners swapped, a reversal missing) puts them far apart, and the
   report names it.
2. **Isometries**: each is a pixel permutation at the manifold's resolution, a rigid motion of
   the embedding (an orthogonal map plus a translation fitted by least squares, its residual
   reported), and together they form a group (closed under composition) of the advertised order.
3. **Equivariance**: every layer of ``gaugecnn.nn`` (``layer_suite``), for field types that use
   every kind of representation of the group, is gauge equivariant (random re-orientations of
   every chart) and isometry equivariant (a seeded sample of the isometries; for pooling and
   upsampling those that map the coarse grid onto itself), in float64 at the usual tolerance.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..atlas import Atlas
from ..atlas.derived import coarse_offset
from ..fieldmap import FieldMap
from ..geometry import gluing_mismatches, pixel_name, point_lookup
from ..isometry import Isometry
from ..manifold import Manifold
from ..representations import FieldType
from .equivariance import assert_gauge_equivariant, assert_isometry_equivariant, tolerance
from .suite import RESAMPLING, layer_suite, representative_field_types

__all__ = ["check_manifold", "ManifoldReport", "CheckResult"]


@dataclass
class CheckResult:
    """One line of a report: what was checked, whether it held, and the figures.

    Args:
        name: the check (``"atlas"``, ``"embedding"``, ``"isometries"``, ``"equivariance TYPE"``).
        passed: whether it held.
        detail: the figures, or what went wrong.
        errors: the worst relative errors it measured, by kind (``"gauge"``, ``"isometry"``).
    """

    name: str
    passed: bool
    detail: str
    errors: dict[str, float] = field(default_factory=dict)  # the worst relative errors, where the check measures any


@dataclass
class ManifoldReport:
    """What ``check_manifold`` found: one ``CheckResult`` per check, printable.

    Args:
        manifold: the manifold's ``repr``.
        results: the checks, in the order they ran.
        seconds: how long the checks took.
    """

    manifold: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every check held."""
        return all(r.passed for r in self.results)

    def failures(self) -> list[CheckResult]:
        """The checks that did not hold."""
        return [r for r in self.results if not r.passed]

    def __str__(self) -> str:
        lines = [f"check_manifold({self.manifold}): {'passed' if self.passed else 'FAILED'} in {self.seconds:.1f} s"]
        for r in self.results:
            lines.append(f"  {'ok  ' if r.passed else 'FAIL'} {r.name}: {r.detail}")
        return "\n".join(lines)


def _gluing_of(atlas: Atlas, flat: int, step: tuple[int, int]) -> str:
    """The gluing(s) crossed by leaving pixel ``flat`` along ``step``."""
    c, i, j = (int(v) for v in np.unravel_index(flat, atlas.grid))
    h, w = atlas.chart_shape
    chart = atlas.charts[c]
    edges = [
        e
        for e, out in (("top", i + step[0] < 0), ("bottom", i + step[0] >= h), ("left", j + step[1] < 0), ("right", j + step[1] >= w))
        if out
    ]
    names = [str(g) for g in atlas.gluings for e in edges if (g.chart_a, g.edge_a) == (chart, e) or (g.chart_b, g.edge_b) == (chart, e)]
    return " and ".join(names) or "no gluing"


def _check_embedding(space: Manifold, atlas: Atlas) -> CheckResult:
    points = np.asarray(space.embedding(), dtype=np.float64)
    if points.shape != (*atlas.grid, 3) or not np.isfinite(points).all():
        return CheckResult("embedding", False, f"shape {points.shape} (expected {(*atlas.grid, 3)}) or non-finite values")
    flat = points.reshape(-1, 3)
    pairs = point_lookup(flat).tree.query_pairs(1e-9 * (1 + np.abs(flat).max()))
    if pairs:
        a, b = sorted(next(iter(pairs)))
        return CheckResult(
            "embedding", False, f"{len(pairs)} pairs of pixels at one point, e.g. {pixel_name(atlas, a)} and {pixel_name(atlas, b)}"
        )
    bad = gluing_mismatches(atlas, points)
    if bad:
        gluings = sorted({_gluing_of(atlas, m.pixel, m.step) for m in bad})
        lines = "; ".join(m.describe(atlas) for m in bad[:2])
        return CheckResult(
            "embedding",
            False,
            f"the gluings and the embedding disagree at {len(bad)} neighbour pairs, across {', '.join(gluings)}: {lines}",
        )
    return CheckResult("embedding", True, f"{len(flat)} distinct points; every neighbour across a chart edge about one pixel away")


def _masked_key(fmap: FieldMap, keep: np.ndarray) -> bytes:
    return fmap.source.reshape(-1)[keep].tobytes() + fmap.element.reshape(-1)[keep].tobytes()


def _check_isometries(space, atlas: Atlas, isometries: list[Isometry], expected: int | None, rigid: bool):
    maps: list[FieldMap] = []
    problems = []
    for iso in isometries:
        try:
            maps.append(iso.field_map(space))
        except (ValueError, TypeError) as error:
            problems.append(f"{iso!r}: {error}")
    cone = atlas.cone_pixels.reshape(-1)
    keep = ~cone
    for iso, fmap in zip(isometries, maps):
        source = fmap.source.reshape(-1)[keep]
        if not np.array_equal(np.sort(source), np.flatnonzero(keep)):
            problems.append(f"{iso!r} is not a permutation of the pixels (off the cone points)")
    residual = 0.0
    if rigid and isinstance(space, Manifold) and space.has_embedding and not problems:
        points = np.asarray(space.embedding(), dtype=np.float64).reshape(-1, 3)
        scale = float(np.ptp(points, axis=0).max()) or 1.0
        for iso, fmap in zip(isometries, maps):
            target = np.flatnonzero(keep & (fmap.source.reshape(-1) >= 0))
            x, y = points[fmap.source.reshape(-1)[target]], points[target]
            cx, cy = x.mean(0), y.mean(0)
            u, _, vt = np.linalg.svd((x - cx).T @ (y - cy))
            q = (u @ vt).T  # the orthogonal map closest to sending x - cx to y - cy
            err = float(np.abs((x - cx) @ q.T + cy - y).max()) / scale
            residual = max(residual, err)
            if err > 1e-6:
                problems.append(f"{iso!r} is not a rigid motion of the embedding (least-squares residual {err:.2e} of the diameter)")
    keys = {_masked_key(m, keep) for m in maps}
    if len(keys) < len(maps):
        problems.append(f"{len(maps) - len(keys)} isometries repeat another's field map")
    if not problems and maps:
        for a in maps:
            for b in maps:
                if _masked_key(a.then(b), keep) not in keys:
                    problems.append("the isometries are not closed under composition: not a group")
                    break
            if problems:
                break
    if expected is not None and len(isometries) != expected:
        problems.append(f"{len(isometries)} isometries, expected {expected}")
    if problems:
        return CheckResult("isometries", False, "; ".join(problems[:3]))
    rigid_text = (
        f", rigid motions of the embedding (largest residual {residual:.1e} of the diameter)"
        if residual or (rigid and getattr(space, "has_embedding", False))
        else ""
    )
    return CheckResult("isometries", True, f"{len(maps)} pixel permutations{rigid_text}, a group of order {len(maps)}")


def _owner(space, atlas: Atlas) -> np.ndarray:
    """Per fine pixel, the coarse pixel it stands for after stride-2 pooling (``-1``: none)."""
    (_, h, w), (ho, wo) = atlas.grid, atlas.coarsened().chart_shape
    owner = np.full(atlas.grid, -1, dtype=np.int64)
    for c, chart in enumerate(atlas.charts):
        if atlas.grid_kind == "vertices":
            r0, c0 = coarse_offset(atlas, chart)
            rows = {i: (i - r0) // 2 for i in range(h) if (i - r0) % 2 == 0}
            cols = {j: (j - c0) // 2 for j in range(w) if (j - c0) % 2 == 0}
        else:  # even axes: blocks of two; odd axes: the window centres (even pixels)
            rows = {i: i // 2 for i in range(h) if h % 2 == 0 or i % 2 == 0}
            cols = {j: j // 2 for j in range(w) if w % 2 == 0 or j % 2 == 0}
        for i, a in rows.items():
            for j, b in cols.items():
                owner[c, i, j] = (c * ho + a) * wo + b
    return owner.reshape(-1)


def _keeps_coarse_grid(iso: Isometry, space, atlas: Atlas, coarse_space) -> bool:
    """Whether ``iso`` maps the pixels that pooling keeps onto each other (then it commutes with pooling)."""
    try:
        fine, coarse = iso.field_map(space), iso.field_map(coarse_space)
    except ValueError:
        return False
    owner = _owner(space, atlas)
    targets = np.flatnonzero(owner >= 0)
    source = fine.source.reshape(-1)[targets]
    return bool(np.array_equal(np.where(source >= 0, owner[np.maximum(source, 0)], -1), coarse.source.reshape(-1)[owner[targets]]))


@torch.no_grad()
def check_manifold(
    manifold: Manifold | Atlas,
    *,
    isometries: Sequence[Isometry] | None = None,
    expected_isometries: int | None = None,
    field_types: list[FieldType] | None = None,
    max_isometries: int = 12,
    gauge_trials: int = 2,
    rigid: bool = True,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> ManifoldReport:
    """Check a manifold (or a bare atlas): embedding against gluings, isometries, and every layer's equivariance.

    Args:
        manifold: the manifold to check; a bare ``Atlas`` gets the equivariance checks only.
        isometries: the isometries to check; ``manifold.isometries()`` by default.
        expected_isometries: how many there should be (the symmetry group's order), if known.
        field_types: the field types to run the layers on; ``representative_field_types(group)`` by default.
        max_isometries: the largest number of isometries each layer is checked against (a seeded sample).
        gauge_trials: random re-orientations of every chart per layer.
        rigid: whether the isometries must be rigid motions of the embedding (not so for an
            intrinsic symmetry of a surface embedded with another metric).
        seed: seeds the sample, the gauges and the inputs.
        raise_on_failure: raise ``AssertionError`` with the report when a check fails.

    Returns:
        The ``ManifoldReport``; print it for one line per check.

    Examples:
        >>> from manifolds import CubeSphere
        >>> report = check_manifold(CubeSphere(2), expected_isometries=24, field_types=[], max_isometries=4)
        >>> report.passed, [r.name for r in report.results]
        (True, ['atlas', 'embedding', 'isometries'])
    """
    start = time.perf_counter()
    atlas = manifold.atlas if isinstance(manifold, Manifold) else manifold
    if not isinstance(atlas, Atlas):
        raise TypeError(f"check_manifold takes a gaugecnn Manifold or Atlas, got {type(manifold).__name__}")
    report = ManifoldReport(repr(manifold))
    cones = sorted({t for _, t, interior in atlas.vertex_angles() if interior and abs(t - 360) > 1e-6})
    facts = (
        f"{atlas.num_charts} chart(s) of {atlas.chart_shape[0]}x{atlas.chart_shape[1]} {atlas.grid_kind}, {len(atlas.gluings)} gluings, "
        f"group {atlas.group.name}, Euler characteristic {atlas.euler_characteristic}, "
        f"{'orientable' if atlas.is_orientable else 'non-orientable'}" + (f", cone angles {cones}" if cones else "")
    )
    report.results.append(CheckResult("atlas", True, facts))
    if isinstance(manifold, Manifold) and manifold.has_embedding:
        report.results.append(_check_embedding(manifold, atlas))
    if isometries is None:
        isometries = manifold.isometries() if isinstance(manifold, Manifold) else []
    if isometries or expected_isometries is not None:
        report.results.append(_check_isometries(manifold, atlas, list(isometries), expected_isometries, rigid))
    sample = list(isometries)
    if len(sample) > max_isometries:
        sample = random.Random(seed).sample(sample, max_isometries)
    types = representative_field_types(atlas.group) if field_types is None else field_types
    tol = tolerance(torch.float64)
    try:
        coarse = manifold.coarsened()
        resampled = [iso for iso in sample if _keeps_coarse_grid(iso, manifold, atlas, coarse)]
    except (ValueError, NotImplementedError):
        coarse, resampled = None, []
    for t in types:
        worst_gauge = worst_iso = 0.0
        failures = []
        checked = 0
        vacuous = []
        for name, layer in layer_suite(manifold, t, seed).items():
            if coarse is None and name in RESAMPLING:
                continue
            in_space = getattr(layer, "in_atlas", manifold)
            in_type = getattr(layer, "in_type", None) or t
            out_type = getattr(layer, "out_type", None)
            probe = torch.randn(2, in_type.size, *in_space.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
            if not layer.double().eval()(probe).abs().amax() > 0:  # a check of zeros would prove nothing
                vacuous.append(name)
                continue
            try:
                worst_gauge = max(worst_gauge, assert_gauge_equivariant(layer, in_space, in_type, out_type, trials=gauge_trials, seed=seed))
                isos = resampled if name in RESAMPLING else sample
                if isos:
                    worst_iso = max(worst_iso, assert_isometry_equivariant(layer, in_space, isos, in_type, out_type, seed=seed))
            except AssertionError as error:
                failures.append(f"{name}: {error}")
            checked += 1
        detail = (
            f"{checked} layers: gauge error {worst_gauge:.1e}, isometry error {worst_iso:.1e} "
            f"({len(sample)} isometries, {len(resampled)} for pooling and upsampling; tolerance {tol:.0e})"
        )
        if vacuous:
            detail += f"; not checked here, their output is zero everywhere on this grid: {', '.join(vacuous)}"
        if failures:
            detail = f"{detail}; " + "; ".join(failures[:3])
        errors = {"gauge": worst_gauge, "isometry": worst_iso}
        report.results.append(CheckResult(f"equivariance {t}", not failures, detail, errors))
    report.seconds = time.perf_counter() - start
    if raise_on_failure and not report.passed:
        raise AssertionError(str(report))
    return report
