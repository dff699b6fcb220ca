"""The evaluation process: self-evaluation with inflation, spot checks, re-check rules and
dual monitoring — as pure functions on arrays shaped (replications, projects[, indicators]).

Attainments are shares in [0, 1] of each leaf's points (see :mod:`perfsim.kernel.scoring`); scores
are in points. Inflation is in attainment units: 0.05 lifts every leaf by 5% of its points, so
5 points on a 100-point system.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfsim.kernel.measurement import LeafSpace, leaves_first
from perfsim.kernel.rows import sorted_at
from perfsim.kernel.scoring import cell_total, gap_penalty, round_half_up, total_score

SELECTIONS = ("random", "largest_budget", "highest_score", "near_cutoffs", "risk", "mix")
#: bytes of leaf arrays the evaluation process works on at a time (a few rows: cache-sized)
CACHE_BYTES = 4 << 20


def weighted_score(attainment: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Σ attainment × points: (R, P, I) with points (I,) or per replication (R, I)."""
    if points.ndim == 1:
        return attainment @ points
    return np.matmul(attainment, points[:, :, None])[..., 0]


def per_row(value: float | np.ndarray, ndim: int) -> float | np.ndarray:
    """A scalar as it is, or a per-row array (rows,) shaped (rows, 1, ...) to broadcast
    against arrays of ``ndim`` dimensions."""
    v = np.asarray(value, dtype=float)
    return float(v) if v.ndim == 0 else v.reshape(v.shape + (1,) * (ndim - 1))


@dataclass(frozen=True, eq=False)
class Measure:
    """How leaf attainments become total scores (points).

    ``points`` (I,) are the leaf points; attainment of leaf i ranges over [0, ``span[i]``]
    (1 for an indicator leaf; the total for a portfolio that holds ready scores, whose single
    "leaf" is the score itself with 1 point per point, so a score passes through exactly).
    ``bonus`` (projects,) are fixed bonus points added to the total.

    ``cells`` (P, L), or per slot of each row (R, S, L): each project's own leaf points, for a
    portfolio whose projects carry their own leaves under a shared framework (an imported
    folder of self-evaluation tables, :mod:`perfsim.model.imported`): leaves padded to the
    longest table with 0 points, so padding never scores; no points are negative. The total
    is then Σ attainment × the project's own points (an einsum over the leaves, or the
    rounded leaves summed by :func:`~perfsim.kernel.scoring.cell_total`); ``points`` (L,)
    are the average project's, for the totals that ask for one system's scale. Per-row
    points (a weighting design) do not apply to it.

    ``ready`` marks a portfolio of ready scores (its one "leaf" has no dispersion).
    ``leaf_decimals`` and ``total_decimals`` round as published tables do (四舍五入): each
    leaf's points (weighted sum only) and the total with its bonus; None leaves them as
    computed. Grading then sees the printed total: a table printed 80.00 is 80.0.
    """

    points: np.ndarray
    span: np.ndarray
    aggregation: str = "weighted_sum"
    groups: np.ndarray | None = None
    total: float | None = None
    bonus: np.ndarray | float = 0.0
    leaf_decimals: int | None = None
    total_decimals: int | None = None
    ready: bool = False   # the portfolio holds ready scores: no leaves, so no leaf dispersion
    within: np.ndarray | None = None   # each level-1 group's own aggregation (WITHIN index)
    cells: np.ndarray | None = None    # (P, L) or (R, S, L): each project's own leaf points

    def at(self, rows: slice) -> Measure:
        """The measure of a run of rows: per-slot ``cells`` (R, S, L) cut to those rows."""
        if self.cells is None or self.cells.ndim < 3:
            return self
        return dataclasses.replace(self, cells=self.cells[rows])

    @property
    def linear(self) -> bool:
        """The total is the weighted sum of the leaves (every group arithmetic)."""
        return self.aggregation == "weighted_sum" and (
            self.within is None or not np.any(self.within))

    def score(self, attainment: np.ndarray, points: np.ndarray | None = None,
              bonus: np.ndarray | float | None = None) -> np.ndarray:
        """Total scores (..., P) of attainments (..., P, I); ``points`` (I,) or per row
        (R, I) (per-row points need the weighted sum); with ``cells`` each project's own
        points (``points`` is not read)."""
        w = self.points if points is None else points
        if self.cells is not None:
            return self._score_cells(attainment, self.cells,
                                     self.bonus if bonus is None else bonus)
        if self.linear and self.leaf_decimals is not None:
            leaf = attainment * (w if w.ndim == 1 else w[:, None, :])
            base = round_half_up(leaf, self.leaf_decimals).sum(axis=-1)
        elif self.linear:
            base = weighted_score(attainment, w)
        else:
            base = total_score(attainment, w if w.ndim == 1 else w[0], groups=self.groups,
                               method=self.aggregation, total=self.total, within=self.within)
        return round_half_up(base + (self.bonus if bonus is None else bonus),
                             self.total_decimals)

    def score_rows(self, attainment: np.ndarray, rows: tuple[np.ndarray, ...],
                   points: np.ndarray | None = None) -> np.ndarray:
        """Total scores of selected (row, project) cells: ``attainment`` (K, I) of the cells
        ``rows`` (index arrays into (R, S)); per-row points are taken for each cell's row."""
        w = self.points if points is None else points
        bonus = self.bonus if np.ndim(self.bonus) == 0 else np.asarray(self.bonus)[rows[-1]] \
            if np.ndim(self.bonus) == 1 else np.asarray(self.bonus)[rows]
        if self.cells is not None:   # each cell's project's own points (K, L)
            own = self.cells[rows[-1]] if self.cells.ndim == 2 else self.cells[rows]
            return self._score_cells(attainment, own, bonus)
        if w.ndim == 1:
            return self.score(attainment, w, bonus)
        if not self.linear:
            return self.score(attainment, w[0], bonus)
        cell = w[rows[0]]                       # each cell's row's points (K, I)
        if self.leaf_decimals is not None:
            base = round_half_up(attainment * cell, self.leaf_decimals).sum(axis=-1)
        else:
            base = np.einsum("ki,ki->k", attainment, cell)
        return round_half_up(base + bonus, self.total_decimals)

    def _score_cells(self, attainment: np.ndarray, own: np.ndarray,
                     bonus: np.ndarray | float) -> np.ndarray:
        """Totals (...) of attainments (..., L) with each project's own points ``own``
        broadcasting against them: Σ attainment × points, leaves rounded as printed (the
        leaves summed exactly where the total is rounded too: :func:`cell_total`)."""
        if self.leaf_decimals is not None and self.total_decimals is not None:
            base = cell_total(attainment, own, self.leaf_decimals)
        elif self.leaf_decimals is not None:
            base = round_half_up(attainment * own, self.leaf_decimals).sum(axis=-1)
        else:
            base = np.einsum("...l,...l->...", attainment, own)
        return round_half_up(base + bonus, self.total_decimals)

    def share(self, attainment: np.ndarray) -> np.ndarray:
        """The weighted attainment share in [0, 1] of each project (bonus excluded); with
        ``cells`` over each project's own points."""
        if self.cells is not None:
            total = self.cells.sum(axis=-1)
            return np.einsum("...l,...l->...", attainment, self.cells) / np.where(
                total > 0, total, 1.0)
        scale = self.points * self.span
        return attainment @ (self.points / scale.sum())

    def noise_variance(self, sd: float) -> float:
        """Variance of a project's attainment share when every leaf carries independent
        noise of ``sd`` (attainment units); with ``cells`` the average over the projects."""
        if self.cells is not None:
            total = self.cells.sum(axis=-1, keepdims=True)
            e = self.cells / np.where(total > 0, total, 1.0)
            return float(sd) ** 2 * float(np.mean(np.einsum("...l,...l->...", e, e)))
        e = self.points * self.span / float((self.points * self.span).sum())
        return float(sd) ** 2 * float(e @ e)


@dataclass(frozen=True, eq=False)
class YearDraws:
    """The random numbers of one year of the evaluation process, rows × slots (projects and
    entrants), drawn by :func:`draw_year` in a fixed order per stream. The process consumes
    ``z_leaf`` and ``z_self`` (computes in their memory)."""

    z_leaf: np.ndarray            # (R, S, I) true leaf attainment around performance
    z_self: np.ndarray            # (R, S, I) self-evaluation noise
    z_re: np.ndarray | None       # (R, S, I) re-check noise for every project (sensitivity)
    key: np.ndarray               # (R, S) random order for random spot checks
    z_exec: np.ndarray            # (R, S, C) execution noise per monitoring checkpoint
    z_theta: np.ndarray           # (R, S) innovation of latent performance
    re_pool: np.ndarray | None = None  # (R, K, I) re-check noise for the k-th checked project
    #: (R, S) the true scores, already known (a sensitivity analysis whose sampled parameters
    #: leave the truth as it is: :mod:`perfsim.run.sensitivity`); None: computed
    true: np.ndarray | None = None
    #: (R', S, I) the re-check's leaf attainments of every cell (:func:`recheck_leaves`),
    #: already known — row i's are row i mod R' (the same truth and re-check noise for rows
    #: R' apart: a sensitivity analysis's samples); None: computed
    rechecked: np.ndarray | None = None
    #: (R, S) the self-scores, already known (with ``true`` and ``rechecked``: the leaves are
    #: then not read); None: computed
    reported: np.ndarray | None = None


def draw_year(streams: Sequence[tuple[np.random.Generator, int]], slots: int, leaves: int,
              checkpoints: int, recheck: bool, out: YearDraws | None = None,
              pool: tuple[Sequence[tuple[np.random.Generator, int]], np.ndarray] | None = None
              ) -> YearDraws:
    """One year's draws, ``n`` rows from each stream in turn (streams are the fixed
    replication blocks, so the numbers do not depend on how rows are chunked); written
    straight into the arrays of ``out`` when given (preallocated, reused every year).

    Re-check noise: ``recheck`` draws it for every project (common random numbers, as the
    sensitivity analysis needs); else ``pool`` — (streams, the most projects each row can
    have checked) — draws it for at most that many projects per row, from streams of its own,
    so that only the checked projects cost random numbers."""
    R = sum(n for _, n in streams)
    S, I, C = slots, leaves, max(checkpoints, 0)  # noqa: E741
    if out is None:
        out = YearDraws(z_leaf=np.empty((R, S, I)), z_self=np.empty((R, S, I)), z_re=None,
                        key=np.empty((R, S)), z_exec=np.empty((R, S, C)),
                        z_theta=np.empty((R, S)))
    z_re = np.empty((R, S, I)) if recheck else None
    r0 = 0
    for g, n in streams:
        rows = slice(r0, r0 + n)
        g.standard_normal(out=out.z_leaf[rows])
        g.standard_normal(out=out.z_self[rows])
        g.random(out=out.key[rows])
        if C:
            g.standard_normal(out=out.z_exec[rows])
        g.standard_normal(out=out.z_theta[rows])
        if z_re is not None:
            g.standard_normal(out=z_re[rows])
        r0 += n
    re_pool = None
    if pool is not None:
        pool_streams, most = pool
        re_pool = np.zeros((R, int(most.max(initial=0)), I))
        r0 = 0
        for g, n in pool_streams:  # each block draws for its own rows' largest count
            k = int(most[r0:r0 + n].max(initial=0))
            re_pool[r0:r0 + n, :k] = g.standard_normal((n, k, I))
            r0 += n
    return dataclasses.replace(out, z_re=z_re, re_pool=re_pool)


def recheck_noise(draws: YearDraws, checked: np.ndarray) -> np.ndarray:
    """Re-check noise (checked cells, leaves) in row-major order: the full array's entries
    when it was drawn for everyone, else the pool's first entries of each row."""
    if draws.z_re is not None:
        return draws.z_re[checked]
    rows = np.nonzero(checked)
    within = np.cumsum(checked, axis=-1) - 1
    return draws.re_pool[rows[0], within[rows]]


#: Who re-checks a checked project (codes of :func:`assign_evaluators`; −1: not checked):
#: 0 the finance bureau (the re-check of ``simulation.spot_check``), 1 an intermediary, 2 a
#: third party, 3 a third party whose check erred by more than the tolerance (its quality
#: deposit forfeited).
EVALUATORS = ("finance", "intermediary", "third_party", "third_party_forfeited")


@dataclass(frozen=True)
class Costs:
    """What evaluation costs, per evaluator type and project evaluated: self-evaluation (every
    project in the portfolio) and re-check (finance, an intermediary or a third party: the
    projects spot-checked), in yuan and staff-days. Scalars or one value per row."""

    self_yuan: float | np.ndarray = 0.0
    recheck_yuan: float | np.ndarray = 0.0
    self_days: float | np.ndarray = 0.0
    recheck_days: float | np.ndarray = 0.0
    intermediary_yuan: float = 0.0
    intermediary_days: float = 0.0
    third_party_yuan: float = 0.0
    third_party_days: float = 0.0
    deposit: float = 0.0   # share of the third party's fee withheld, forfeited on a bad check
    instead_of_self: bool = False   # an intermediary's evaluation replaces the self-evaluation

    def of(self, evaluated: np.ndarray, checked: np.ndarray,
           evaluator: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per row (yuan and staff-days) for ``evaluated`` and ``checked`` masks (rows,
        projects): ``self``, ``recheck``, ``total`` yuan and ``days``. With ``evaluator``
        (:data:`EVALUATORS` codes per project) each re-check is priced by its evaluator: the
        finance re-check, an intermediary, a third party (less its forfeited deposit). With
        ``instead_of_self`` a project an intermediary evaluates is not self-evaluated: it
        counts as the intermediary's evaluation only (Weifang: 22 self + 7 = 29)."""
        own_work = evaluated
        if self.instead_of_self and evaluator is not None:
            own_work = evaluated & (evaluator != 1)
        n_self = own_work.sum(axis=-1).astype(float)
        own = np.asarray(self.self_yuan) * n_self
        days = np.asarray(self.self_days) * n_self
        if evaluator is None:
            n_check = (checked & evaluated).sum(axis=-1).astype(float)
            re = np.asarray(self.recheck_yuan) * n_check
            days = days + np.asarray(self.recheck_days) * n_check
        else:
            n = [((evaluator == k) & evaluated).sum(axis=-1).astype(float) for k in range(4)]
            re = (np.asarray(self.recheck_yuan) * n[0] + self.intermediary_yuan * n[1]
                  + self.third_party_yuan * (n[2] + n[3] * (1.0 - self.deposit)))
            days = (days + np.asarray(self.recheck_days) * n[0]
                    + self.intermediary_days * n[1] + self.third_party_days * (n[2] + n[3]))
        return {"self": own, "recheck": re, "total": own + re, "days": days}


@dataclass(frozen=True)
class Process:
    """The evaluation process of one year. Every numeric field is a scalar or an array with
    one value per row (a parameter sample); noise and inflation are in attainment units."""

    dispersion: float | np.ndarray = 0.0
    noise: float | np.ndarray = 0.0
    recheck_noise: float | np.ndarray = 0.0
    check_share: float | np.ndarray = 0.0
    selection: str = "random"
    replace: bool = True
    gap_rule: bool = False
    gap_on: str = "project"   # department: the gap rule leaves project scores alone
    gap: float = 10.0
    per: float = 1.0
    step: float = 5.0
    gap_mode: str = "whole"
    penalty: float = 0.0
    cutoffs: tuple[float, ...] = ()   # the grade lines, for checks near them
    band: float = 2.0                 # points above a line that count as near it
    unchecked_bonus: float = 0.0      # points for not being checked (Fujian)
    mix: tuple[tuple[str, float], ...] = ()   # selection "mix": (selection, share of checks)
    # evaluators other than finance (attainment units): (noise, bias) of each
    intermediary: tuple[float, float] = (0.0, 0.0)
    third_party: tuple[float, float] = (0.0, 0.0)
    intermediary_share: float | np.ndarray = 0.0      # of the checks below the threshold
    third_party_min_budget: float | np.ndarray = 0.0  # this large: a third party (0: none)
    deposit_tolerance: float = 0.0       # points of error that forfeit the deposit (0: never)
    #: what the third party's error is measured from: ``year`` the score of what the year's
    #: check can see (a cross-year project's shown results), ``completion`` the whole truth
    deposit_basis: str = "year"
    # rationing the checks: staff-days for re-checks (0: no cap) at ``check_days`` each, and
    # the share of this year's funds the checks must cover (0: none)
    days_budget: float | np.ndarray = 0.0
    check_days: float | np.ndarray = 0.0
    funds_share: float | np.ndarray = 0.0

    @property
    def evaluators(self) -> bool:
        """Checks are shared among evaluators (intermediaries or a third party)."""
        return bool(np.any(np.asarray(self.intermediary_share) > 0)
                    or np.any(np.asarray(self.third_party_min_budget) > 0))


@dataclass(frozen=True, eq=False)
class ProcessScores:
    """Scores (R, S) in points of one year of the evaluation process."""

    true: np.ndarray
    self: np.ndarray
    final: np.ndarray
    checked: np.ndarray
    honest: np.ndarray | None       # the final score without inflation (None: nobody inflates)
    honest_self: np.ndarray | None  # the self-score without inflation
    recheck: np.ndarray | None = None   # the re-check's score (the self-score where unchecked)
    evaluator: np.ndarray | None = None  # who re-checked (EVALUATORS codes; None: finance)
    #: Wenzhou's gap rule on the department's score: (gap, per, step, gap_mode), None when
    #: the rule is off or lands on the project's score
    department_gap: tuple[float, float, float, str] | None = None


def prepare_leaves(draws: YearDraws, mean: np.ndarray, process: Process, span: np.ndarray,
                   ready: bool = False) -> YearDraws:
    """Turn a year's raw draws into leaf units, in their own memory: ``z_leaf`` becomes the
    true leaf attainment before the latent shift and the clip (``mean + span × dispersion ×
    z``) and ``z_self`` the self-evaluation noise (``span × noise × z``). Independent of the
    year's outcome, so the Monte Carlo prepares the next year while this one is computed.
    ``ready``: ``z_leaf`` holds true leaf attainments already (a sensitivity analysis's
    samples share the truth's): only ``z_self`` is prepared."""
    for z, sd in ((draws.z_self, process.noise),) if ready else (
            (draws.z_leaf, process.dispersion), (draws.z_self, process.noise)):
        leaf_units(z, sd, span, out=z)
    if not ready:
        np.add(draws.z_leaf, mean, out=draws.z_leaf)
    return draws


def leaf_units(z: np.ndarray, sd: float | np.ndarray, span: np.ndarray,
               out: np.ndarray | None = None) -> np.ndarray:
    """Standard normals ``z`` (R, S, I) in leaf units: × ``sd`` (a scalar or one per row) ×
    each leaf's ``span``; into ``out`` when given (``z`` itself: in place)."""
    out = np.multiply(z, per_row(sd, 3), out=out)
    if not bool(np.all(span == 1.0)):
        out *= span
    return out


def _self_evaluate(a_true: np.ndarray, draws: YearDraws, shift: np.ndarray | None,
                   inflation: np.ndarray, measure: Measure, u: np.ndarray,
                   space: LeafSpace | None, shown: np.ndarray | None, points: np.ndarray,
                   true_points: np.ndarray, true: np.ndarray | None, self_score: np.ndarray,
                   honest_self: np.ndarray | None, scratch: np.ndarray | None) -> None:
    """The leaves' part of :func:`evaluate_process`, in place: the true leaves moved by the
    latent ``shift`` (clipped in attainment space), the truth scored into ``true`` (None:
    known), the self-evaluation's leaves (noise, then ``inflation``) scored into
    ``self_score`` and, without inflation, into ``honest_self`` (None: not wanted)."""
    unit = bool(np.all(u == 1.0))
    top = 1.0 if unit else u      # a scalar bound clips faster than a per-leaf one
    R, S, I = a_true.shape  # noqa: E741
    scratch = np.empty_like(a_true) if scratch is None else scratch
    inflated = bool(np.any(inflation != 0))
    bonus = measure.bonus

    def rows(x: Any, r: slice) -> Any:  # a per-row argument's rows, others as they are
        return x[r] if np.ndim(x) >= 2 else x

    # a few rows at a time, so that each row's leaves stay in cache through all the steps
    step = max(1, CACHE_BYTES // (3 * 8 * S * I))
    # measurement space of one system's leaves: the self-evaluation's latent leaves are built
    # leaves first, as LeafSpace.attain works on them (the same sums, not copied there)
    first = isinstance(space, LeafSpace) and shown is None
    built = np.empty((I, step, S)) if first else None
    for r0 in range(0, R, step):
        r = slice(r0, r0 + step)
        m = measure.at(r)   # per-slot leaf points: these rows'
        a, noise, a_self = a_true[r], draws.z_self[r], scratch[r]
        if shift is not None:
            a += (shift[r, :, None] if unit else shift[r, :, None] * u)
        if space is None:
            np.clip(a, 0.0, top, out=a)
            if true is not None:
                true[r] = m.score(a, rows(true_points, r), rows(bonus, r))
        elif true is not None:   # measurement space: the latent attainment as it is, scored
            true[r] = m.score(space.attain(a, r), rows(true_points, r), rows(bonus, r))
        if first:
            n = a.shape[0]
            lat = np.add(leaves_first(a), leaves_first(noise),
                         out=built if n == step else np.empty((I, n, S)))
            if honest_self is not None:
                honest_self[r] = m.score(space.attain(lat, r, leaf_major=True),
                                         rows(points, r), rows(bonus, r))
            if inflated:
                lat += (inflation[r] if unit else inflation[r] * u[:, None, None])
            self_score[r] = m.score(space.attain(lat, r, leaf_major=True), rows(points, r),
                                    rows(bonus, r))
            continue
        if shown is None:
            np.add(a, noise, out=a_self)
        else:
            np.multiply(a, shown[r, :, None], out=a_self)
            a_self += noise
        if honest_self is not None:
            honest_self[r] = m.score(
                np.clip(a_self, 0.0, top, out=noise) if space is None
                else space.attain(a_self, r), rows(points, r), rows(bonus, r))
        if inflated:
            a_self += (inflation[r, :, None] if unit else inflation[r, :, None] * u)
        self_score[r] = m.score(
            np.clip(a_self, 0.0, top, out=a_self) if space is None
            else space.attain(a_self, r), rows(points, r), rows(bonus, r))


def recheck_leaves(seen: np.ndarray, noise: np.ndarray, span: np.ndarray,
                   space: LeafSpace | None, at: Any) -> np.ndarray:
    """The leaf attainments a re-check finds: the latent attainments it ``seen`` plus its
    ``noise`` (attainment units) × each leaf's ``span``, clipped to [0, span] — or, in
    measurement space, each measured value scored by its rule against the re-check's targets
    (``at``: the cells' rows, :meth:`~perfsim.kernel.measurement.LeafSpace.attain`)."""
    a = seen + span * noise
    if space is not None:
        return space.attain(a, at, True)
    return np.clip(a, 0.0, 1.0 if bool(np.all(span == 1.0)) else span)


def evaluate_process(shift: np.ndarray | None, inflation: np.ndarray, measure: Measure,
                     draws: YearDraws, process: Process, budget: np.ndarray,
                     active: np.ndarray, points: np.ndarray, true_points: np.ndarray,
                     scratch: np.ndarray | None = None, risk: np.ndarray | None = None,
                     space: LeafSpace | None = None, shown: np.ndarray | None = None,
                     barred: np.ndarray | None = None,
                     claim: Callable[[np.ndarray], np.ndarray] | None = None,
                     honest: bool = True) -> ProcessScores:
    """One year of the evaluation process on rows × slots, from draws made ready by
    :func:`prepare_leaves`.

    True leaf attainment = the prepared leaves moved by the latent ``shift`` (R, S; None = 0),
    clipped to [0, span]; the self-evaluation adds each project's ``inflation`` (R, S) and the
    noise; spot checks re-measure a share of projects with their own noise and the re-check
    rules give the graded score. Scores use ``points`` (I,) or per row (R, I); the truth uses
    ``true_points``. Computed in place: the draws are consumed, ``scratch`` (the shape of
    ``z_leaf``) is reused when given. ``risk`` (R, S) weights the ``risk`` selection;
    ``barred`` (R,) marks the rows whose third party is blacklisted this year (its checks go
    to the finance re-check).

    With ``space`` (measurement space, :mod:`perfsim.kernel.measurement`) the latent leaf
    attainments are not clipped: each becomes a measured value scored by its leaf's rule.
    ``shown`` (R, S) is the share of each project's true attainment that its evaluations
    (self-evaluation and re-check) see — a cross-year project judged annually before its
    results show (:class:`perfsim.kernel.linkage.CrossYear`); None: all of it. A third
    party's deposit is forfeited when its re-check errs by more than the tolerance from the
    score of what the year shows (``process.deposit_basis: year``) or of the whole truth
    (``completion``).

    ``claim`` (units that respond, :mod:`perfsim.kernel.strategy`): maps the honest
    self-scores (R, S) to the self-scores the units report, instead of ``inflation``.

    ``honest``: the honest counterfactual (the self-scores and final scores without
    inflation) is computed; False when nothing reads it (a sensitivity analysis whose metrics
    do not: :attr:`perfsim.kernel.metrics.Metric.honest`) — the other scores are the same.
    """
    u = measure.span
    unit = bool(np.all(u == 1.0))
    top = 1.0 if unit else u      # a scalar bound clips faster than a per-leaf one
    p = process
    a_true = draws.z_leaf
    inflated = bool(np.any(inflation != 0))
    known = draws.true
    honest_self = None
    # the self-scores known, with the truth and the re-check: no leaf is read
    told = (draws.reported is not None and known is not None and draws.rechecked is not None
            and claim is None and not (inflated and honest) and not p.evaluators
            and shown is None)
    if told:
        self_score = draws.reported
        true = known
    else:
        R, S, I = a_true.shape  # noqa: E741
        self_score = np.empty((R, S))
        true = np.empty((R, S)) if known is None else known
        honest_self = np.empty((R, S)) if inflated and honest and claim is None else None
        _self_evaluate(a_true, draws, shift, inflation, measure, u, space, shown, points,
                       true_points, true if known is None else None, self_score, honest_self,
                       scratch)

    if claim is not None:   # each unit reports what it chooses on its honest self-score
        honest_self = self_score
        self_score = np.asarray(claim(honest_self), dtype=float)
    checked = select_for_check(p.check_share, p.selection, active, draws.key,
                               np.where(active, budget, 0.0), self_score,
                               cutoffs=p.cutoffs, band=p.band, risk=risk, mix=p.mix,
                               days_budget=p.days_budget, check_days=p.check_days,
                               funds_share=p.funds_share)
    re_score = self_score
    evaluator = assign_evaluators(checked, np.where(active, budget, 0.0), p.intermediary_share,
                                  p.third_party_min_budget, barred) if p.evaluators else None
    if np.any(checked):
        rows = np.nonzero(checked)
        if draws.rechecked is not None and evaluator is None:   # known for every cell
            known_re = draws.rechecked
            a_re = known_re[rows[0] % known_re.shape[0], rows[1]]
        else:
            z = recheck_noise(draws, checked)
            sd = p.recheck_noise if np.ndim(p.recheck_noise) == 0 else np.asarray(
                p.recheck_noise)[rows[0]][:, None]
            seen = a_true[rows] if shown is None else a_true[rows] * shown[rows][:, None]
            if evaluator is None:
                a_re = recheck_leaves(seen, sd * z, u, space, rows)
            else:   # each evaluator re-measures with its own noise and bias
                k = evaluator[rows][:, None]
                noise = np.where(k == 1, p.intermediary[0],
                                 np.where(k == 2, p.third_party[0], sd))
                bias = np.where(k == 1, p.intermediary[1], np.where(k == 2, p.third_party[1],
                                                                    0.0))
                a_re = recheck_leaves(seen, noise * z + bias, u, space, rows)
        re_score = self_score.copy()
        re_score[rows] = measure.score_rows(a_re, rows, points)
        if evaluator is not None and p.deposit_tolerance > 0:
            basis = true
            if shown is not None and p.deposit_basis == "year":   # what this year can show
                basis = true.copy()
                basis[rows] = measure.score_rows(
                    np.clip(seen, 0.0, top) if space is None else space.attain(seen, rows, True),
                    rows, true_points)
            erred = np.abs(re_score - basis) > p.deposit_tolerance
            evaluator = np.where((evaluator == 2) & erred, 3, evaluator).astype(np.int8)
    on_project = p.gap_rule and p.gap_on != "department"
    rules = dict(replace=p.replace, gap_rule=on_project, gap=p.gap, per=p.per, step=p.step,
                 gap_mode=p.gap_mode, inflation_penalty=p.penalty,
                 unchecked_bonus=p.unchecked_bonus)
    final = recheck_scores(self_score, re_score, checked, **rules)
    honest = None if honest_self is None else recheck_scores(honest_self, re_score, checked,
                                                             **rules)
    return ProcessScores(true=true, self=self_score, final=final, checked=checked,
                         honest=honest, honest_self=honest_self, recheck=re_score,
                         evaluator=evaluator,
                         department_gap=((p.gap, p.per, p.step, p.gap_mode)
                                         if p.gap_rule and not on_project else None))


def assign_evaluators(checked: np.ndarray, budget: np.ndarray,
                      intermediary_share: float | np.ndarray,
                      third_party_min_budget: float | np.ndarray,
                      barred: np.ndarray | None = None) -> np.ndarray:
    """Who re-checks each checked project (:data:`EVALUATORS` codes; −1 not checked): a third
    party for projects of at least ``third_party_min_budget`` yuan (key evaluation of large
    items; 0: none), then intermediaries for ``intermediary_share`` of the other checks (the
    largest budgets first, rounded), the finance bureau for the rest. Either may be one
    value per row (a parameter sample). In the rows ``barred`` (R,) the third party is
    blacklisted: its checks go to the finance re-check (not to intermediaries)."""
    out = np.where(checked, 0, -1).astype(np.int8)
    least = per_row(third_party_min_budget, 2)     # a number, or one per row (a sample)
    large = checked & (budget >= least) & (np.asarray(least) > 0)
    out[large if barred is None else large & ~np.asarray(barred)[:, None]] = 2
    share = per_row(intermediary_share, 2)
    if np.any(np.asarray(share) > 0):
        rest = checked & ~large
        n = np.rint(share * rest.sum(axis=-1, keepdims=True)).astype(np.int64)
        out[_top(np.broadcast_to(budget, out.shape), rest,
                 np.broadcast_to(n, (out.shape[0], 1)))] = 1
    return out


def near_cutoffs_key(self_score: np.ndarray, key_random: np.ndarray,
                     cutoffs: Sequence[float], band: float) -> np.ndarray:
    """The order of checks near the cut lines: projects whose self-score lies in
    ``[cutoff, cutoff + band)`` for some cutoff — just over a line, where a few inflated points
    buy a grade — first, the closest to their line first; the others after them, in random
    order (``key_random`` in [0, 1))."""
    distance = np.full(np.shape(self_score), np.inf)
    for c in cutoffs:
        d = self_score - c
        distance = np.where((d >= 0) & (d < distance), d, distance)
    near = distance < band
    return np.where(near, 2.0 + (band - np.where(near, distance, 0.0)) / band, key_random)


def check_count(n_active: np.ndarray, share: float | np.ndarray,
                days_budget: float | np.ndarray = 0.0, check_days: float | np.ndarray = 0.0,
                funds_share: float | np.ndarray = 0.0, funded: np.ndarray | None = None
                ) -> np.ndarray:
    """How many projects each row re-checks (rows, 1), of ``n_active`` (rows, 1) active ones.

    The requirements: ``round(share × n_active)`` and, with a ``funds_share``, ``funded`` —
    the checks it takes to cover that share of the funds (an upper bound, such as
    ``n_active``, sizes the re-check noise pool); the more of the two. A row with neither
    re-checks as many as its staff-days pay for. The capacity: ``days_budget`` staff-days
    (0: no cap) at ``check_days`` a check allow ``floor(days_budget / check_days)`` checks.
    Never more than the capacity nor the active projects; every argument may be one value
    per row."""
    share, funds = per_row(share, 2), per_row(funds_share, 2)
    days, each = per_row(days_budget, 2), per_row(check_days, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where((days > 0) & (each > 0), np.floor(days / np.where(each > 0, each, 1.0)
                                                         + 1e-9), np.inf)
    want = np.where(share > 0, np.rint(share * n_active), 0.0)
    if funded is not None:
        want = np.maximum(want, np.where(funds > 0, funded, 0))
    free = (share <= 0) & (funds <= 0)     # only a days budget: as many as it pays for
    want = np.where(free, np.where(np.isfinite(cap), n_active, 0), want)
    return np.minimum(np.minimum(want, cap), n_active).astype(np.int64)


def select_for_check(share: float | np.ndarray, selection: str, active: np.ndarray,
                     key_random: np.ndarray, budget: np.ndarray, self_score: np.ndarray,
                     *, cutoffs: Sequence[float] = (), band: float = 2.0,
                     risk: np.ndarray | None = None,
                     mix: Sequence[tuple[str, float]] = (),
                     days_budget: float | np.ndarray = 0.0,
                     check_days: float | np.ndarray = 0.0,
                     funds_share: float | np.ndarray = 0.0) -> np.ndarray:
    """Which projects are re-checked: :func:`check_count` of them per replication —
    ``round(share × active projects)``; with ``funds_share`` F at least the shortest run of
    projects, in the selection's order, whose budgets reach F × the row's active funds;
    with neither, as many as ``days_budget`` staff-days pay for at ``check_days`` a check;
    never more than those days pay for — chosen

    - ``random``; by ``largest_budget``; by ``highest_score`` (the self-score);
    - ``near_cutoffs`` (:func:`near_cutoffs_key`: self-scores within ``band`` points above one
      of ``cutoffs``, closest first, then at random);
    - ``risk``: at random with probability weighted by ``risk`` (R, S) — a department's risk
      weight, raised for projects found inflated before — without replacement
      (Efraimidis–Spirakis keys u^(1/w) on the replication's uniforms; weight 1 everywhere is
      the random selection);
    - ``mix``: ``mix`` = ((selection, share of the checks), ...): each selection in turn takes
      its share of the checks (rounded; the last takes the rest) among the projects not yet
      picked (not with a funds share: the mix has no one order).

    Ties in the deterministic orders go to the project listed first. A sort finds each row's
    threshold (no full ranking): the projects above it, then the tied ones at it in listing
    order; a funds share needs the full order (a stable sort)."""
    funds = per_row(funds_share, 2)
    rationed = bool(np.any(np.asarray(days_budget) > 0))
    if not rationed and np.all(np.asarray(funds) <= 0):
        if np.all(np.asarray(share) <= 0):
            return np.zeros(active.shape, dtype=bool)
        if np.all(np.asarray(share) >= 1):
            return active.copy()
    keys = dict(key_random=key_random, budget=budget, self_score=self_score, cutoffs=cutoffs,
                band=band, risk=risk)
    n_active = active.sum(axis=-1, keepdims=True)
    order_key = None if selection == "mix" else _check_key(selection, **keys)
    funded = None
    if np.any(np.asarray(funds) > 0) and order_key is not None:
        # the shortest run of projects in check order whose budgets cover F of the funds
        key = np.where(active, order_key, -np.inf)
        order = np.argsort(-key, axis=-1, kind="stable")
        held = np.take_along_axis(np.broadcast_to(np.where(active, budget, 0.0), key.shape),
                                  order, axis=-1)
        before = np.zeros(held.shape)                   # funds checked before each project
        np.cumsum(held[:, :-1], axis=-1, out=before[:, 1:])
        target = funds * held.sum(axis=-1, keepdims=True)
        funded = ((before < target) & np.take_along_axis(active, order, axis=-1)).sum(
            axis=-1, keepdims=True)
        funded = np.where(funds >= 1, n_active, funded)
    n_check = check_count(n_active, share, days_budget, check_days, funds_share, funded)
    n_check = np.broadcast_to(n_check, (active.shape[0], 1))
    if order_key is not None:
        return _top(order_key, active, n_check)
    picked = np.zeros(active.shape, dtype=bool)
    left = n_check
    for k, (sel, frac) in enumerate(mix):
        n = left if k == len(mix) - 1 else np.minimum(np.rint(frac * n_check).astype(np.int64),
                                                      left)
        picked |= _top(_check_key(sel, **keys), active & ~picked, n)
        left = n_check - picked.sum(axis=-1, keepdims=True)
    return picked


def _check_key(selection: str, *, key_random: np.ndarray, budget: np.ndarray,
               self_score: np.ndarray, cutoffs: Sequence[float], band: float,
               risk: np.ndarray | None) -> np.ndarray:
    """The order in which ``selection`` checks projects: the largest key first."""
    if selection == "near_cutoffs":
        return near_cutoffs_key(self_score, key_random, cutoffs, band)
    if selection == "risk":
        if risk is None:
            return key_random
        with np.errstate(divide="ignore"):
            return np.power(key_random, 1.0 / np.asarray(risk, dtype=float))
    return {"random": key_random, "largest_budget": np.broadcast_to(budget, self_score.shape),
            "highest_score": self_score}[selection]


def _top(key: np.ndarray, active: np.ndarray, n_check: np.ndarray) -> np.ndarray:
    """The ``n_check`` (rows, 1) active projects of each row with the largest ``key``; ties
    to the project listed first."""
    key = np.where(active, key, -np.inf)
    neg = np.negative(key)
    at = sorted_at(neg, np.maximum(n_check - 1, 0))     # the threshold: the n-th largest key
    np.negative(at, out=at)
    above = key > at
    tied = key == at
    room = n_check - above.sum(axis=-1, keepdims=True)
    crowded = tied.sum(axis=-1, keepdims=True) > room   # more ties than places: the first
    if crowded.any():
        tied &= ~crowded | (np.cumsum(tied, axis=-1) <= room)
    return (above | tied) & active & (n_check > 0)


def recheck_scores(self_score: np.ndarray, recheck_score: np.ndarray, checked: np.ndarray, *,
                   replace: bool = True, gap_rule: bool = False, gap: float = 10.0,
                   per: float = 1.0, step: float = 5.0, gap_mode: str = "whole",
                   inflation_penalty: float = 0.0, unchecked_bonus: float = 0.0
                   ) -> np.ndarray:
    """The score that is graded after re-checks (points, floored at 0).

    For checked projects: the re-check replaces the self-score (``replace``); the
    project-score gap deduction (``gap_rule``, after Wenzhou's re-check rule, which takes the
    points off the department's score instead: datasets/indicator_systems/wenzhou_2013.yaml)
    deducts ``per`` points per ``step`` points of |self − re-check| above ``gap``; an
    optional ``inflation_penalty`` is deducted when the self-score exceeds the re-check by more
    than ``gap``. Unchecked projects keep their self-score, plus ``unchecked_bonus`` points
    where a rule rewards the absence of an audit (Fujian: 2 points because no spot check was
    done).
    """
    score = np.where(checked & replace, recheck_score, self_score)
    if unchecked_bonus:
        score = score + np.where(checked, 0.0, unchecked_bonus)
    if gap_rule:
        score = score - np.where(checked, gap_penalty(recheck_score, self_score, gap=gap,
                                                      per=per, step=step, mode=gap_mode), 0.0)
    if inflation_penalty:
        found = checked & (self_score - recheck_score > gap)
        score = score - np.where(found, inflation_penalty, 0.0)
    return np.clip(score, 0.0, None)


#: what dual monitoring does to a project whose targets are clearly unreachable
TARGET_CONSEQUENCES = ("warn", "suspend", "recover", "rectify")


@dataclass(frozen=True)
class Targets:
    """The target-attainment half of dual monitoring: at each checkpoint a project's projected
    attainment of its year's targets is its latent performance plus normal noise of sd
    ``noise``; below ``minimum`` its targets are clearly unreachable, with the
    ``consequence``: ``warn`` (counted only), ``suspend`` (the disbursements still to come,
    budget × (1 − elapsed), are withheld), ``recover`` (``recovery_share`` of its idle funds
    recovered, as for slow execution) or ``rectify`` (required to rectify: it joins the
    rectification of the linkage rule). ``year_end_clearing``: a project whose year-end
    attainment misses ``minimum`` has its unspent balance cleared (Weifang [S1])."""

    minimum: float | np.ndarray
    noise: float | np.ndarray = 0.0
    consequence: str = "warn"
    year_end_clearing: bool = False


@dataclass(frozen=True, eq=False)
class Monitoring:
    """Dual monitoring's outcome (R, P): ``recovered`` every yuan taken before the linkage
    rule (idle funds recovered, disbursements suspended, balances cleared); the targets
    ``failed`` at a checkpoint; yuan ``suspended`` and ``cleared``; the projects required
    to rectify (``feedback``; None unless the consequence is ``rectify``)."""

    recovered: np.ndarray
    failed: np.ndarray
    suspended: np.ndarray
    cleared: np.ndarray
    feedback: np.ndarray | None = None


def monitor(budget: np.ndarray, pace: np.ndarray, z: np.ndarray,
            checkpoints: tuple[tuple[float, float], ...], noise_sd: float,
            recovery_share: float, targets: Targets | None = None,
            z_target: np.ndarray | None = None, attainment: np.ndarray | None = None
            ) -> np.ndarray | Monitoring:
    """Dual monitoring at each checkpoint (share of the year elapsed, minimum execution rate).

    Execution pace: a project's execution rate is ``elapsed × pace`` plus noise; a project
    below the minimum has ``recovery_share`` of its idle funds — budget × (elapsed − rate) —
    recovered, once a year, at the first checkpoint it fails. Without ``targets`` returns the
    yuan recovered (R, P).

    Target attainment (``targets``, :class:`Targets`): the projected attainment
    ``attainment`` (default ``pace``: the latent performance) plus ``targets.noise`` ×
    ``z_target[..., c]`` at checkpoint c, clipped to [0, 1]; below the minimum the targets
    are clearly unreachable and the consequence is applied at the first checkpoint that
    finds it. ``z_target`` (R, P, checkpoints + 2): one normal per checkpoint, then the
    year-end attainment and the year-end execution rate (pace plus ``noise_sd`` × normal)
    for year-end clearing. Returns a :class:`Monitoring`; nothing taken exceeds a budget."""
    budget = np.asarray(budget, dtype=float)
    recovered = np.zeros(np.shape(budget))
    done = np.zeros(np.shape(budget), dtype=bool)
    rates = []
    for c, (elapsed, minimum) in enumerate(checkpoints):
        rate = np.clip(elapsed * pace + noise_sd * z[..., c], 0.0, 1.0)
        rates.append(rate)
        fail = (rate < minimum) & ~done
        recovered = np.where(fail, recovery_share * budget * np.clip(elapsed - rate, 0, None),
                             recovered)
        done |= fail
    if targets is None:
        return recovered
    t = targets
    level = pace if attainment is None else attainment
    failed = np.zeros(np.shape(budget), dtype=bool)
    suspended = np.zeros(np.shape(budget))
    for c, (elapsed, _) in enumerate(checkpoints):
        projected = np.clip(level + t.noise * z_target[..., c], 0.0, 1.0)
        first = (projected < t.minimum) & ~failed
        if t.consequence == "suspend":
            suspended = np.where(first, budget * (1.0 - elapsed), suspended)
        elif t.consequence == "recover":
            idle = recovery_share * budget * np.clip(elapsed - rates[c], 0, None)
            recovered = np.where(first, np.maximum(recovered, idle), recovered)
        failed |= first
    taken = np.minimum(recovered + suspended, budget)
    cleared = np.zeros(np.shape(budget))
    if t.year_end_clearing:
        C = len(checkpoints)
        missed = np.clip(level + t.noise * z_target[..., C], 0.0, 1.0) < t.minimum
        spent = np.clip(pace + noise_sd * z_target[..., C + 1], 0.0, 1.0)
        cleared = np.where(missed, np.clip(budget * (1.0 - spent) - taken, 0.0, None), 0.0)
    return Monitoring(recovered=taken + cleared, failed=failed,
                      suspended=np.minimum(suspended, budget), cleared=cleared,
                      feedback=failed.copy() if t.consequence == "rectify" else None)
