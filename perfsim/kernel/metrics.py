"""The metric registry: every outcome perfsim reports, declared once.

A :class:`Metric` has a name, a unit, a meaning, whether it needs the Monte Carlo (the true
performance is known only there), and how it is computed from a
:class:`~perfsim.kernel.year.YearOutcome` — one value per row. ``perfsim run``, the Monte Carlo
summaries, calibration targets, sensitivity outputs and the notebooks all use these names.

Inactive projects (cancelled earlier, or entrants not yet in the portfolio) are excluded with
an ``active`` mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.grading import LabelSet
from perfsim.kernel.rows import per_run
from perfsim.kernel.scoring.recheck import gap_penalty
from perfsim.kernel.year import YearOutcome


def share(mask: np.ndarray, active: np.ndarray) -> np.ndarray:
    n = active.sum(axis=-1)
    return np.where(n > 0, (mask & active).sum(axis=-1) / np.maximum(n, 1), np.nan)


def ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share their mean rank) along the last axis: one sort per
    row, ties resolved on the sorted values (``scipy.stats.rankdata(method="average")``);
    values on the grid of :data:`GRID` decimals (totals) by one sort of packed whole numbers
    (:func:`_grid_sort`), the same ranks.
    Entries of +inf (projects left out by :func:`spearman`) rank last; ties among them are
    averaged only when finite values tie too. A run of rows equal to the one before
    (:func:`perfsim.kernel.rows.runs`: the true scores of samples on the same common random
    numbers, the scores of samples that differ after scoring) is ranked once."""
    return per_run(_ranks, x)


def _ranks(x: np.ndarray) -> np.ndarray:
    """:func:`ranks` of every row, each ranked on its own."""
    counted = _grid_ranks(x)   # scores on the grid, few steps: counted, not sorted
    if counted is not None:
        return counted
    n = x.shape[-1]
    packed = _grid_sort(x)
    if packed is None:
        order = np.argsort(x, axis=-1)
        xs = np.take_along_axis(x, order, axis=-1)
        finite = np.isfinite(xs)
    else:   # scores on the grid of GRID decimals: one sort of whole numbers
        order, xs, finite = packed
    new = np.ones(xs.shape, dtype=bool)
    np.not_equal(xs[..., 1:], xs[..., :-1], out=new[..., 1:])  # a new value starts a tie group
    idx = np.broadcast_to(np.arange(n, dtype=float), xs.shape)
    if not np.any(~new & finite):  # no ties: the sorted position is the rank
        avg = idx + 1.0
    else:
        start = np.maximum.accumulate(np.where(new, idx, 0.0), axis=-1)
        last = np.ones(xs.shape, dtype=bool)
        last[..., :-1] = new[..., 1:]
        end = np.flip(np.minimum.accumulate(np.flip(np.where(last, idx, n - 1.0), axis=-1),
                                            axis=-1), axis=-1)
        avg = (start + end) / 2.0 + 1.0
    out = np.empty(xs.shape)
    np.put_along_axis(out, order, avg, axis=-1)
    return out


#: decimals of the totals :func:`ranks` sorts as whole numbers (scores printed to 0.01 point)
GRID = 2


def _grid_steps(x: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Values on the grid of :data:`GRID` decimals (+inf allowed) as whole numbers of grid
    steps above the least (int64; +inf one step above the greatest), and the span of the
    finite ones; None where a value is off the grid (or NaN, −inf), or the numbers do not fit.
    Equal values are equal whole numbers and the order of the steps is the order of the
    values."""
    n = x.shape[-1] if x.ndim else 0
    if x.size == 0 or n >= 1 << 31:
        return None
    f = 10.0 ** GRID
    head = np.ravel(x[(0,) * (x.ndim - 1)][:64])   # a glance first: most off-grid data fails
    with np.errstate(invalid="ignore", over="ignore"):
        if not np.all((np.rint(head * f) / f == head) | (head == np.inf)):
            return None
    fin = np.isfinite(x)
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.rint(x * f)
        if not np.all(np.where(fin, steps / f == x, x == np.inf)):
            return None
    steps[~fin] = 0.0
    lo, hi = float(steps.min()), float(steps.max())
    span = hi - lo
    if span >= 1 << 30:
        return None
    steps -= lo
    steps[~fin] = span + 1.0                    # +inf above every value
    return steps.astype(np.int64), int(span)


def _grid_sort(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The sort :func:`ranks` needs, of values on the grid of :data:`GRID` decimals
    (:func:`_grid_steps`): each value's steps packed with its position into one int64 key
    (steps in the high 32 bits), and one sort of the keys — no argsort of floats and no
    gather. Returns the order, the sorted whole numbers and where they are finite; None off
    the grid."""
    grid = _grid_steps(x)
    if grid is None:
        return None
    key, span = grid
    key <<= 32
    key |= np.arange(x.shape[-1], dtype=np.int64)
    key.sort(axis=-1)
    order = key & 0xFFFFFFFF
    key >>= 32
    return order, key, key <= span


def _grid_ranks(x: np.ndarray) -> np.ndarray | None:
    """:func:`ranks` of values on the grid of :data:`GRID` decimals spanning few steps (no
    more than :data:`COUNT_BINS` × the values a row holds: scores of 0–100 points) by
    counting, not sorting: a value's average rank is the number of smaller values plus
    (its count + 1) / 2, the half-integers of the sort's (start + end) / 2 + 1 exactly. As
    there, +inf entries rank last, by position unless some finite value ties. None where the
    values are off the grid or spread over too many steps."""
    n = x.shape[-1] if x.ndim else 0
    grid = _grid_steps(x)
    if grid is None or grid[1] + 2 > COUNT_BINS * n:
        return None
    steps, span = grid
    bins = span + 2
    flat = steps.reshape(-1, n)
    rows = flat.shape[0]
    key = flat + (np.arange(rows, dtype=np.int64) * bins)[:, None]
    counts = np.bincount(key.ravel(), minlength=rows * bins)
    upto = np.cumsum(counts.reshape(rows, bins), axis=1).ravel()[key]   # at or below its step
    count = counts[key]                         # values at its step
    inf = flat == span + 1
    if np.any((count > 1) & ~inf):   # ties among finite values: every group averaged
        out = (upto - count) + (count + 1) / 2.0
    else:   # no tie: the rank is the position; +inf entries in their order
        out = (upto - count) + 1.0
        out += np.where(inf, np.cumsum(inf, axis=1) - 1, 0)
    return out.reshape(x.shape)


#: how many steps per value a row may span for :func:`_grid_ranks` to count (not sort)
COUNT_BINS = 4


def spearman(x: np.ndarray, y: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of x and y over active projects, per row (average ranks
    for ties). Inactive projects are ranked above every active one (+inf), which leaves the
    active projects' ranks 1..n, and then left out."""
    n = active.sum(axis=-1, keepdims=True)
    rx = np.where(active, ranks(np.where(active, x, np.inf)), 0.0)
    ry = np.where(active, ranks(np.where(active, y, np.inf)), 0.0)
    mean = (n + 1) / 2.0
    rx = np.where(active, rx - mean, 0.0)
    ry = np.where(active, ry - mean, 0.0)
    num = (rx * ry).sum(axis=-1)
    den = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def gini(amount: np.ndarray, include: np.ndarray) -> np.ndarray:
    """Gini coefficient of ``amount`` over included projects, per row."""
    return gini_ascending(np.sort(np.where(include, amount, np.inf), axis=-1),
                          include.sum(axis=-1, keepdims=True))


def gini_ascending(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """:func:`gini` of amounts already sorted: ``x`` the included amounts ascending per row
    with +inf after them, ``n`` (rows, 1) how many are included."""
    i = np.arange(1, x.shape[-1] + 1)[None, :]
    valid = i <= n
    x = np.where(valid, x, 0.0)
    total = x.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = ((2 * i - n - 1) * x).sum(axis=-1, keepdims=True) / (n * total)
    return np.where((n[..., 0] > 0) & (total[..., 0] > 0), g[..., 0], np.nan)


def top_share(amount: np.ndarray, include: np.ndarray, top: float = 0.1) -> np.ndarray:
    """Share of the total held by the top ``top`` fraction of included projects (at least 1)."""
    return _top_share_descending(-np.sort(-np.where(include, amount, 0.0), axis=-1),
                                 include.sum(axis=-1), top)


def top_share_ascending(x: np.ndarray, n: np.ndarray, top: float = 0.1) -> np.ndarray:
    """:func:`top_share` of positive amounts already sorted as :func:`gini_ascending` takes
    them (the included ascending, +inf after them; ``n`` (rows, 1)): the same numbers from
    the same descending order, read backwards, with no second sort."""
    i = np.arange(x.shape[-1])[None, :]
    back = np.take_along_axis(x, np.maximum(n - 1 - i, 0), axis=-1)
    return _top_share_descending(np.where(i < n, back, 0.0), n[..., 0], top)


def _top_share_descending(x: np.ndarray, n: np.ndarray, top: float) -> np.ndarray:
    k = np.maximum(np.ceil(top * n), 1).astype(int)
    csum = np.cumsum(x, axis=-1)
    head = np.take_along_axis(csum, (k - 1)[:, None], axis=-1)[:, 0]
    total = csum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, head / total, np.nan)


def volatility(budget: np.ndarray, next_budget: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mean absolute relative budget change |next − budget| / budget over active projects."""
    ok = active & (budget > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(ok, np.abs(next_budget - budget) / np.where(ok, budget, 1.0), 0.0)
    n = ok.sum(axis=-1)
    return np.where(n > 0, rel.sum(axis=-1) / np.maximum(n, 1), np.nan)


def unit_scores(score: np.ndarray, budget: np.ndarray, units: np.ndarray, n_units: int,
                active: np.ndarray | None = None) -> np.ndarray:
    """Department-overall scores from project scores: per row, each unit's budget-weighted
    mean score over its active projects, (rows, projects) → (rows, units); NaN for a unit
    with no active budget. ``units`` (projects,) or (rows, projects) unit indices."""
    score = np.atleast_2d(np.asarray(score, dtype=float))
    R = score.shape[0]
    w = np.broadcast_to(np.asarray(budget, dtype=float), score.shape)
    if active is not None:
        w = np.where(active, w, 0.0)
    idx = (np.arange(R)[:, None] * n_units + np.broadcast_to(units, score.shape)).ravel()
    num = np.bincount(idx, weights=(w * score).ravel(), minlength=R * n_units)
    den = np.bincount(idx, weights=w.ravel(), minlength=R * n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan).reshape(R, n_units)


def top_units(values: np.ndarray, share: float) -> np.ndarray:
    """The "advanced units" (先进单位) per row: the units whose value ranks in the top
    ``share`` — ``floor(share × units with a value)`` of them, at least one — ties at the
    line all included; NaN values never. (rows, units) → bool."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    ok = np.isfinite(v)
    n = ok.sum(axis=-1)
    k = np.where(n > 0, np.maximum(np.floor(share * n + 1e-9), 1), 0).astype(np.int64)
    desc = -np.sort(-np.where(ok, v, -np.inf), axis=-1)
    line = np.take_along_axis(desc, np.maximum(k - 1, 0)[:, None], axis=-1)
    return ok & (v >= line) & (k[:, None] > 0)


def unit_gap_points(self_score: np.ndarray, recheck: np.ndarray, checked: np.ndarray,
                    budget: np.ndarray, units: np.ndarray, n_units: int, *, gap: float = 10.0,
                    per: float = 1.0, step: float = 5.0, mode: str = "whole",
                    graded: np.ndarray | None = None) -> np.ndarray:
    """Wenzhou's re-check gap rule on the department (四.1 财政部门复核评价): a unit's
    self-evaluation, as re-checked, is its checked projects' budget-weighted self-score
    against their budget-weighted re-check score; when they differ by more than ``gap`` the
    unit loses ``per`` points per ``step`` (``mode`` as :func:`gap_penalty`) from its own
    score, the one that ranks the units for advanced units. (rows, projects) → (rows,
    units) points; 0 for a unit with nothing checked. Project scores are not touched."""
    mask = np.asarray(checked, dtype=bool)
    if graded is not None:
        mask = mask & graded
    own = unit_scores(self_score, budget, units, n_units, mask)
    seen = unit_scores(recheck, budget, units, n_units, mask)
    ok = np.isfinite(own) & np.isfinite(seen)
    return np.where(ok, gap_penalty(np.where(ok, seen, 0.0), np.where(ok, own, 0.0), gap=gap,
                                    per=per, step=step, mode=mode), 0.0)


def department_scores(o: YearOutcome) -> np.ndarray:
    """The units' scores of a year (rows, units): the budget-weighted mean of their graded
    projects' scores, less Wenzhou's gap rule where it lands on the department
    (``simulation.spot_check.gap_on: department``)."""
    n = int(np.max(o.units, initial=-1)) + 1
    seen = unit_scores(o.score, o.gross, o.units, n, o.graded)
    ps = o.scores
    if ps is not None and ps.department_gap is not None and ps.recheck is not None:
        gap, per, step, mode = ps.department_gap
        seen = seen - unit_gap_points(ps.self, ps.recheck, ps.checked, o.gross, o.units, n,
                                      gap=gap, per=per, step=step, mode=mode, graded=o.graded)
    return seen


def _department_stability(o: YearOutcome) -> np.ndarray:
    true_score = _truth(o)[0]
    if o.units is None:
        return np.full(o.score.shape[0], np.nan)
    n = int(np.max(o.units, initial=-1)) + 1
    seen = department_scores(o)
    truth = unit_scores(true_score, o.gross, o.units, n, o.graded)
    ok = np.isfinite(seen) & np.isfinite(truth)
    return spearman(np.where(ok, seen, 0.0), np.where(ok, truth, 0.0), ok)


def interval(values: np.ndarray, low: float = 5, high: float = 95) -> tuple[float, float, float]:
    """Mean and the (low, high) percentiles of a sample, ignoring NaN."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    return float(v.mean()), float(np.percentile(v, low)), float(np.percentile(v, high))


# --- the registry -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """An outcome metric: ``fn`` maps a year's outcome to one value per row."""

    name: str
    unit: str
    meaning: str
    fn: Callable[[YearOutcome], np.ndarray]
    monte_carlo: bool = False  # needs the true performance (or the honest counterfactual)
    honest: bool = False       # reads the honest counterfactual (the year without inflation)


def _sum(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=-1)


def _truth(o: YearOutcome) -> tuple[np.ndarray, np.ndarray]:
    if o.true_grade is None or o.true_score is None:
        raise InputError(field="metric", problem="needs the true performance: run the Monte "
                                                 "Carlo (perfsim run --replications N)")
    return o.true_score, o.true_grade


def _payoff(o: YearOutcome) -> np.ndarray:
    if o.honest is None or o.inflation_points is None:
        return np.full(o.score.shape[0], np.nan)
    gain = _sum(o.next_budget) - _sum(o.honest.next_budget)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(o.inflation_points != 0, gain / o.inflation_points, np.nan)


def _count(feedback: np.ndarray | None, rectified: np.ndarray | None, o: YearOutcome
           ) -> np.ndarray:
    if feedback is None:
        return np.zeros(o.score.shape[0])
    return (feedback & ~rectified).sum(axis=-1).astype(float)


def _rectified_share(o: YearOutcome) -> np.ndarray:
    if o.feedback is None:
        return np.ones(o.score.shape[0])
    told = o.feedback.sum(axis=-1)
    done = o.rectified.sum(axis=-1)
    return np.where(told > 0, done / np.maximum(told, 1), 1.0)


def _costs(o: YearOutcome) -> dict[str, np.ndarray]:
    if o.checked is None or o.costs is None:
        raise InputError(field="metric", problem="needs the evaluation process: run the Monte "
                                                 "Carlo (perfsim run --replications N)")
    return o.costs.of(o.graded, o.checked, o.evaluator)


def _funds_share(o: YearOutcome, mask: np.ndarray) -> np.ndarray:
    """Share of this year's funds held by the projects ``mask`` marks (NaN without funds)."""
    total = _sum(o.gross)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, _sum(np.where(mask, o.gross, 0.0)) / total, np.nan)


def _coverage(o: YearOutcome) -> np.ndarray:
    _costs(o)
    return _funds_share(o, o.checked)


def _misgraded(o: YearOutcome, grade: np.ndarray) -> np.ndarray:
    """Yuan of this year's budget in graded projects whose ``grade`` is not the true one."""
    return _sum(np.where(o.graded & (grade != _truth(o)[1]), o.gross, 0.0))


def _misgraded_avoided(o: YearOutcome) -> np.ndarray:
    if o.self_grade is None:   # no re-checks: the self-evaluations are the grades
        return np.zeros(o.score.shape[0])
    return _misgraded(o, o.self_grade) - _misgraded(o, o.grade)


def _cost_per_avoided(o: YearOutcome) -> np.ndarray:
    avoided = _misgraded_avoided(o)
    cost = _costs(o)["recheck"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(avoided > 0, cost / np.where(avoided > 0, avoided, 1.0), np.nan)


def _forfeited(o: YearOutcome) -> np.ndarray:
    _costs(o)
    if o.evaluator is None:
        return np.zeros(o.score.shape[0])
    return ((o.evaluator == 3) & o.active).sum(axis=-1).astype(float)


def _barred(o: YearOutcome) -> np.ndarray:
    _costs(o)
    if o.third_party_barred is None:
        return np.zeros(o.score.shape[0])
    return np.asarray(o.third_party_barred, dtype=float)


def _gate(o: YearOutcome, *codes: int) -> np.ndarray:
    """Active projects whose request for next year the pre-evaluation decided as one of
    ``codes`` (indices into :data:`perfsim.kernel.linkage.GATE`); none without a gate."""
    if o.link.gate is None:
        return np.zeros(o.score.shape, dtype=bool)
    return np.isin(o.link.gate, codes) & o.active


def _gate_count(*codes: int) -> Callable[[YearOutcome], np.ndarray]:
    """Requests decided as one of ``codes``: next year's, and the new projects' as they
    entered this year (the Monte Carlo)."""
    def count(o: YearOutcome) -> np.ndarray:
        n = _gate(o, *codes).sum(axis=-1).astype(float)
        return n if o.entry_gate is None else n + np.isin(o.entry_gate, codes).sum(axis=-1)
    return count


def _gate_saved(o: YearOutcome) -> np.ndarray:
    out = (np.zeros(o.score.shape[0]) if o.link.gate_saved is None else
           _sum(np.where(o.active, o.link.gate_saved, 0.0)))
    return out if o.entry_saved is None else out + _sum(o.entry_saved)


def _monitored(o: YearOutcome, name: str) -> np.ndarray:
    if o.monitoring is None:
        return np.zeros(o.score.shape[0])
    x = getattr(o.monitoring, name)
    return (x & o.active).sum(axis=-1).astype(float) if x.dtype == bool else _sum(
        np.where(o.active, x, 0.0))


def _soft(o: YearOutcome) -> np.ndarray:
    """Active projects that set themselves soft targets (measurement space with
    ``simulation.targets``: the Monte Carlo marks them on the outcome); none otherwise."""
    soft = o.soft_targets
    return np.zeros(o.active.shape, dtype=bool) if soft is None else (soft & o.active)


def _soft_rewarded(o: YearOutcome) -> np.ndarray:
    soft = _soft(o)
    n = soft.sum(axis=-1)
    won = (soft & (o.rewarded > 0)).sum(axis=-1)
    return np.where(n > 0, won / np.maximum(n, 1), 0.0)


def _inflating(o: YearOutcome) -> np.ndarray:
    """Share of the graded projects whose self-score exceeds what they would have reported
    honestly (0 when nobody inflates)."""
    sc = o.scores
    if sc is None or sc.honest_self is None:
        return np.zeros(o.score.shape[0])
    return share(sc.self > sc.honest_self, o.graded)


def _lifted(o: YearOutcome, g: int) -> np.ndarray:
    """Projects whose self-score earns grade ``g`` while their honest self-score earns a
    lower one: the pile inflation puts at that grade's line (0 when nobody inflates)."""
    h = o.honest
    if h is None or o.self_grade is None or h.self_grade is None:
        return np.zeros(o.score.shape[0])
    return ((o.self_grade == g) & (h.self_grade > g) & o.graded).sum(axis=-1).astype(float)


def _fixed() -> tuple[Metric, ...]:
    return (
        Metric("projects", "projects", "projects in the portfolio this year",
               lambda o: o.active.sum(axis=-1).astype(float)),
        Metric("budget_total", "yuan", "this year's budget", lambda o: _sum(o.gross)),
        Metric("next_total", "yuan", "next year's total budget",
               lambda o: _sum(o.next_budget)),
        Metric("kept_total", "yuan", "budget kept (up to each project's budget)",
               lambda o: _sum(o.kept)),
        Metric("cut_total", "yuan", "budget cut from projects kept", lambda o: _sum(o.cut)),
        Metric("cancelled_total", "yuan", "budget of cancelled projects",
               lambda o: _sum(o.cancelled)),
        Metric("rewarded_total", "yuan", "budget added to rewarded projects",
               lambda o: _sum(o.rewarded)),
        Metric("savings", "yuan", "budget minus next year's budget (monitoring recoveries "
               "included)", lambda o: _sum(o.gross) - _sum(o.next_budget)),
        Metric("recovered", "yuan", "idle funds recovered by monitoring",
               lambda o: _sum(o.recovered)),
        Metric("gini", "index 0-1", "Gini coefficient of next year's budgets",
               lambda o: gini_ascending(*o.held_next_ascending)),
        Metric("top10_share", "share", "share of next year's money held by the top 10%",
               lambda o: top_share_ascending(*o.held_next_ascending)),
        Metric("volatility", "share", "mean absolute relative budget change",
               lambda o: volatility(o.gross, o.next_budget, o.active)),
        Metric("misgrading", "share", "share of projects graded unlike their true grade",
               lambda o: share(o.grade != _truth(o)[1], o.graded), True),
        Metric("wrong_cuts", "yuan", "money cut or cancelled from truly good (优/良) projects",
               lambda o: _sum(np.where(_truth(o)[1] <= o.good, o.lost, 0.0)), True),
        Metric("kept_by_poor", "yuan", "next year's money kept by truly poor projects",
               lambda o: _sum(np.where(_truth(o)[1] == o.poor, o.next_budget, 0.0)), True),
        Metric("rank_stability", "correlation", "Spearman correlation of score and true score",
               lambda o: spearman(o.score, _truth(o)[0], o.graded), True),
        Metric("inflation_points", "points", "points added by self-evaluation inflation",
               lambda o: (np.zeros(o.score.shape[0]) if o.inflation_points is None
                          else o.inflation_points), True, True),
        Metric("inflating_share", "share", "share of the graded projects whose unit "
               "reported more than its honest self-score", _inflating, True, True),
        Metric("inflation_payoff", "yuan per point", "extra money per inflated point, against "
               "the same replication evaluated honestly", _payoff, True, True),
        Metric("rectified_share", "share", "share of the projects fed back (told to rectify) "
               "that rectified within the deadline; 1 when none was fed back",
               _rectified_share),
        Metric("count_unrectified", "projects", "projects fed back and not rectified",
               lambda o: _count(o.feedback, o.rectified, o)),
        Metric("recovered_unrectified", "yuan", "budget recovered from projects not "
               "rectified (Zhucheng)", lambda o: (np.zeros(o.score.shape[0])
                                                   if o.recovered_unrectified is None
                                                   else _sum(o.recovered_unrectified))),
        Metric("postponed_total", "yuan", "budget of projects postponed by a failed "
               "precondition (not cancelled)", lambda o: _sum(o.postponed)),
        Metric("units_blacklisted", "units", "units (departments) blacklisted for next "
               "year's budget", lambda o: (np.zeros(o.score.shape[0])
                                           if o.units_blacklisted is None
                                           else o.units_blacklisted)),
        Metric("evaluation_cost", "yuan", "what evaluation costs: self-evaluations and "
               "re-checks", lambda o: _costs(o)["total"], True),
        Metric("evaluation_cost_self", "yuan", "what the self-evaluations cost",
               lambda o: _costs(o)["self"], True),
        Metric("evaluation_cost_recheck", "yuan", "what the re-checks (finance, intermediary "
               "or third party) cost", lambda o: _costs(o)["recheck"], True),
        Metric("evaluation_days", "staff-days", "staff-days spent on evaluation",
               lambda o: _costs(o)["days"], True),
        Metric("recheck_coverage", "share", "share of this year's funds re-checked",
               _coverage, True),
        Metric("count_self_evaluated", "projects", "projects self-evaluated and graded "
               "(all of them without a coverage rule)",
               lambda o: o.graded.sum(axis=-1).astype(float)),
        Metric("self_evaluation_coverage", "share", "share of this year's funds "
               "self-evaluated and graded", lambda o: _funds_share(o, o.graded)),
        Metric("misgraded_money", "yuan", "budget of the projects graded unlike their true "
               "grade", lambda o: _misgraded(o, o.grade), True),
        Metric("misgraded_avoided", "yuan", "budget graded unlike its true grade by the "
               "self-evaluations alone, less that after the re-checks", _misgraded_avoided,
               True),
        Metric("cost_per_misgraded_yuan_avoided", "yuan per yuan", "what the re-checks cost "
               "per yuan of misgraded budget they avoid, per replication (NaN where they avoid "
               "none; where they avoid little the ratio is large, so its mean is unsteady: "
               "set evaluation_cost_recheck against misgraded_avoided too)",
               _cost_per_avoided, True),
        Metric("deposits_forfeited", "checks", "third-party re-checks whose quality deposit "
               "was forfeited (erred by more than the tolerance)", _forfeited, True),
        Metric("third_party_barred", "0/1", "1 in a year the third party is blacklisted "
               "after forfeiting its deposit, else 0", _barred, True),
        Metric("pre_evaluation_funded", "projects", "requests the pre-evaluation funded as "
               "asked", _gate_count(0)),
        Metric("pre_evaluation_reduced", "projects", "requests the pre-evaluation reduced",
               _gate_count(1)),
        Metric("pre_evaluation_postponed", "projects", "requests the pre-evaluation "
               "postponed", _gate_count(2)),
        Metric("pre_evaluation_rejected", "projects", "requests the pre-evaluation rejected",
               _gate_count(3)),
        Metric("pre_evaluation_cut", "projects", "requests the pre-evaluation cut (reduced, "
               "postponed or rejected)", _gate_count(1, 2, 3)),
        Metric("pre_evaluation_saved", "yuan", "money the pre-evaluation took off next year's "
               "requests and new projects' requests (reductions and rejections)",
               _gate_saved),
        Metric("pre_evaluation_wrong_rejects", "projects", "truly good (优/良) projects the "
               "pre-evaluation postponed or rejected by mistake",
               lambda o: (_gate(o, 2, 3) & (_truth(o)[1] <= o.good)).sum(axis=-1).astype(
                   float), True),
        Metric("monitoring_target_failed", "projects", "projects whose targets monitoring "
               "found clearly unreachable at a checkpoint",
               lambda o: _monitored(o, "failed")),
        Metric("monitoring_suspended", "yuan", "disbursements suspended by monitoring for "
               "targets clearly unreachable", lambda o: _monitored(o, "suspended")),
        Metric("monitoring_cleared", "yuan", "balances cleared at year end for missed targets",
               lambda o: _monitored(o, "cleared")),
        Metric("department_rank_stability", "correlation", "Spearman correlation of the "
               "departments' budget-weighted scores and their true ones",
               _department_stability, True),
        Metric("soft_targets_rewarded", "share", "share of the projects with soft targets "
               "(set below expected performance) that were rewarded; 0 when none has one",
               _soft_rewarded, True),
        Metric("soft_targets_money", "yuan", "budget change (next year's minus this year's) "
               "of the projects with soft targets",
               lambda o: _sum(np.where(_soft(o), o.next_budget - o.gross, 0.0)), True),
    )


FIXED: dict[str, Metric] = {m.name: m for m in _fixed()}
#: Names used before the registry, refused with the new name.
RENAMED: dict[str, str] = {"cut": "cut_total", "cancelled": "cancelled_total",
                           "rewarded": "rewarded_total", "active": "projects"}


def registry(labels: LabelSet) -> dict[str, Metric]:
    """Every metric for a label set: the fixed ones plus ``count_<grade>`` and
    ``share_<grade>`` (of active projects) for each grade, and ``lifted_<grade>`` (the pile
    inflation puts at its line) for each grade but the last."""
    out = dict(FIXED)
    for g, code in enumerate(labels.codes):
        out[f"count_{code}"] = Metric(
            f"count_{code}", "projects", f"projects graded {code} ({labels.zh[g]})",
            lambda o, g=g: ((o.grade == g) & o.graded).sum(axis=-1).astype(float))
        out[f"share_{code}"] = Metric(
            f"share_{code}", "share", f"share of projects graded {code} ({labels.zh[g]})",
            lambda o, g=g: share(o.grade == g, o.graded))
        if g < len(labels) - 1:   # a pile at the lowest score of every grade but the last
            out[f"lifted_{code}"] = Metric(
                f"lifted_{code}", "projects", f"projects whose inflated self-score earns "
                f"{code} ({labels.zh[g]}) and whose honest one a lower grade: the pile "
                "inflation puts at its line", lambda o, g=g: _lifted(o, g), True, True)
    return out


def lookup(labels: LabelSet, name: str, *, monte_carlo: bool = True) -> Metric:
    """The metric called ``name``; an old or unknown name is a one-line error naming the
    valid ones (deterministic ones only when ``monte_carlo`` is False)."""
    known = registry(labels)
    if name in RENAMED or (name.startswith("n_") and f"count_{name[2:]}" in known):
        new = RENAMED.get(name, f"count_{name[2:]}")
        raise InputError(field="metric", value=name, problem=f"renamed: use {new}")
    if name not in known or (known[name].monte_carlo and not monte_carlo):
        valid = [k for k, m in known.items() if monte_carlo or not m.monte_carlo]
        raise InputError(field="metric", value=name,
                         problem=f"unknown metric (valid: {', '.join(valid)})")
    return known[name]


def need_honest(labels: LabelSet, names: Sequence[str]) -> bool:
    """Whether any of the metrics ``names`` reads the honest counterfactual
    (:attr:`Metric.honest`): the evaluation process computes it only then when asked to."""
    known = registry(labels)
    return any(known[n].honest for n in names)


def compute(outcome: YearOutcome, names: list[str] | tuple[str, ...], labels: LabelSet
            ) -> dict[str, np.ndarray]:
    """The named metrics of ``outcome``, one array (rows,) each."""
    known = registry(labels)
    return {n: np.asarray(known[n].fn(outcome), dtype=float) for n in names}
