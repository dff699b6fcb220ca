"""Global sensitivity analysis with SALib: which design parameter drives the outcomes?

- **Sobol** first- and total-order indices with bootstrap confidence intervals
  (:func:`SALib.sample.sobol.sample` + :func:`SALib.analyze.sobol.analyze`): :func:`sobol`.
  ``n`` base samples cost ``n × (k + 2)`` model evaluations for k parameters (``n × (2k + 2)``
  with second-order indices); SALib wants ``n`` a power of 2.
- **Morris** elementary-effects screening (:func:`SALib.sample.morris.sample` +
  :func:`SALib.analyze.morris.analyze`): :func:`morris`, ``n`` trajectories, ``n × (k + 1)``
  evaluations. μ* is the mean absolute effect of moving a parameter across its whole range,
  in the metric's units.

Parameters are scenario paths from the calibration registry
(:func:`perfsim.calibrate.parameters`, scalar ones only) with bounds, read from a YAML
**params file** — a list of ``{name: PATH, bounds: [LOW, HIGH]}``::

    - {name: linkage.ratio, bounds: [0.10, 0.20]}
    - {name: grading.cutoffs.excellent, bounds: [85, 95]}
    - {name: simulation.spot_check.share, bounds: [0.0, 0.5]}

``weights.<level-1 code>`` sets a group's points before all points are rescaled to the
system's total; cutoff bounds must keep the cutoffs in order whatever is drawn.

**The model** (:func:`evaluate_samples`) is one year of the evaluation process of
:mod:`perfsim.run.simulate` — true leaf attainment, self-evaluation with inflation and noise, spot
checks and re-check rules, monitoring recoveries, grading, linkage — evaluated for many
parameter samples at once: each sample is treated as a replication, with per-replication
weights (R, I), cutoffs (R, K) and multiplier table (R, G), in chunks of samples that bound
memory. The true score is computed with each sample's own weights (a weight is a design
choice, so misgrading is judged against the design in force). Multi-year dynamics, entrants
and the ``uncertainty:`` settings of the simulation are not part of it.

**Randomness: common random numbers.** All samples see the same random draws — leaf
dispersion, self-evaluation and re-check noise, inflation spread, spot-check keys, execution
noise — drawn once from the scenario seed's own stream (``SeedSequence(seed,
spawn_key=(2,))``), for ``replications`` replications (default 1; outcomes are averaged over
them). Differences between samples are caused by the parameters alone, and the numbers cannot
depend on the chunking. A parameter that does not enter the model has exactly zero effect.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.io import read_yaml
from perfsim.kernel import metrics as mx
from perfsim.kernel.evaluation import monitor, recheck_scores
from perfsim.kernel.scoring import total_score
from perfsim.model.params import Parameter, check_bounds, group_shares, parameter
from perfsim.model.scenario import Scenario
from perfsim.model.settings import settings_from_dict
from perfsim.model.streams import generator
from perfsim.run.simulate import build_inputs

METHODS = ("sobol", "morris")
DEFAULT_METRICS = ("savings", "misgrading", "wrong_cuts", "rank_stability", "gini")
SAMPLE_METRICS: dict[str, str] = {
    "savings": "yuan", "misgrading": "share", "wrong_cuts": "yuan",
    "rank_stability": "Spearman correlation", "gini": "Gini index 0-1",
    "cut_total": "yuan", "cancelled_total": "yuan", "rewarded_total": "yuan",
    "next_total": "yuan", "kept_by_poor": "yuan", "top10_share": "share",
    "volatility": "share", "recovered": "yuan",
}
#: cells (samples × replications × projects × indicators) per chunk, 8 bytes each in each of a
#: few arrays: a Liupanshui-scale chunk stays near 100 MiB
CHUNK_CELLS = 4_000_000


# --- parameters ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParamSpec:
    """A design parameter sampled uniformly within ``bounds``."""

    name: str
    bounds: tuple[float, float]
    param: Parameter


def params_from_list(scenario: Scenario, items: Any, source: str | None = None
                     ) -> list[ParamSpec]:
    """Validate a list of ``{name, bounds}`` (or ``(name, (low, high))`` pairs) against the
    scenario: names from the scalar parameter registry, bounds ``[low, high]`` with
    ``low < high`` inside the valid range, no name twice, cutoffs that stay in order."""
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise InputError(source, problem="a params file is a non-empty list of "
                                         "{name: PATH, bounds: [LOW, HIGH]}")
    out: list[ParamSpec] = []
    for i, item in enumerate(items):
        where = f"parameter {i + 1}"
        if isinstance(item, Mapping):
            extra = set(item) - {"name", "bounds"}
            if extra or "name" not in item or "bounds" not in item:
                raise InputError(source, where, field=sorted(extra)[0] if extra else None,
                                 problem="each entry is {name: PATH, bounds: [LOW, HIGH]}")
            name, bounds = item["name"], item["bounds"]
        elif isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
            name, bounds = item
        else:
            raise InputError(source, where, value=item,
                             problem="each entry is {name: PATH, bounds: [LOW, HIGH]}")
        try:
            p = parameter(scenario, str(name), scalar=True)
            lo, hi = check_bounds(p, bounds)
        except InputError as err:
            raise err.at(source, where) from None
        if any(s.name == p.path for s in out):
            raise InputError(source, where, "name", p.path, "listed twice")
        out.append(ParamSpec(p.path, (lo, hi), p))
    _check_cutoff_order(scenario, out, source)
    return out


def load_params(path: str | Path, scenario: Scenario) -> list[ParamSpec]:
    """Read and validate a params file (YAML list of ``{name: PATH, bounds: [LOW, HIGH]}``)."""
    return params_from_list(scenario, read_yaml(path), str(path))


def _check_cutoff_order(scenario: Scenario, specs: Sequence[ParamSpec], source: str | None
                        ) -> None:
    cutoffs = scenario.grading.cutoffs
    if cutoffs is None:
        return
    codes = scenario.grading.labels.codes
    rng = [(c, c) for c in cutoffs]
    for s in specs:
        if s.param.kind == "cutoff":
            rng[s.param.index] = s.bounds
    for k in range(len(rng) - 1):
        if rng[k][0] <= rng[k + 1][1]:
            raise InputError(source, field=f"grading.cutoffs.{codes[k]}",
                             value=[rng[k][0], rng[k][1]],
                             problem=f"overlaps grading.cutoffs.{codes[k + 1]} "
                                     f"[{rng[k + 1][0]:g}, {rng[k + 1][1]:g}]: cutoffs must "
                                     "stay strictly descending for every sample")


def problem(specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """The SALib problem dict."""
    return {"num_vars": len(specs), "names": [s.name for s in specs],
            "bounds": [list(s.bounds) for s in specs]}


# --- the vectorised model ------------------------------------------------------------------

@dataclass
class _Model:
    """Everything fixed across samples: inputs, base design and the common random numbers."""

    scenario: Scenario
    specs: list[Parameter]
    metrics: tuple[str, ...]
    replications: int
    inputs: Any
    z_leaf: np.ndarray      # (r, P, I)
    z_self: np.ndarray      # (r, P, I)
    z_re: np.ndarray        # (r, P, I)
    key: np.ndarray         # (r, P)
    z_infl: np.ndarray      # (r, P)
    recovered: np.ndarray   # (r, P) yuan, monitoring does not depend on the design
    infl_fixed: np.ndarray  # (P,) True where a department sets its own inflation
    shares: np.ndarray | None = None   # (I,) leaf share of its level-1 group
    groups: np.ndarray | None = None   # (I,) level-1 index
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def truth_shared(self) -> bool:
        """True scores are the same for every sample (no weight or dispersion sampled)."""
        return not any(p.kind == "weight" or p.setting == "leaf_dispersion"
                       for p in self.specs)


def _prepare(scenario: Scenario, names: Sequence[str], metrics: Sequence[str], seed: int | None,
             settings: Any, replications: int) -> _Model:

    if settings is None:
        try:
            settings = settings_from_dict(scenario.spec.get("simulation"))
        except InputError as err:
            raise err.at(scenario.source) from None
    specs = [parameter(scenario, n, scalar=True) for n in names]
    valid = [*SAMPLE_METRICS, *(f"share_{c}" for c in scenario.grading.labels.codes)]
    for m in metrics:
        if m not in valid:
            raise InputError(field="metric", value=m,
                             problem=f"unknown metric (valid: {', '.join(valid)})")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise InputError(field="replications", value=replications,
                         problem="must be a whole number >= 1")
    inputs = build_inputs(scenario, settings)
    aggregation = getattr(inputs, "aggregation", "weighted_sum")
    if aggregation != "weighted_sum" and any(p.kind == "weight" for p in specs):
        raise InputError(field="parameter", value=next(p.path for p in specs
                                                       if p.kind == "weight"),
                         problem=f"sampled weights need weighted_sum aggregation, not "
                                 f"{aggregation}")
    r, P, I = replications, inputs.n_projects, inputs.points.size  # noqa: E741
    seed = scenario.seed if seed is None else int(seed)
    rng = generator(seed, "sensitivity")
    z_leaf = rng.standard_normal((r, P, I))
    z_self = rng.standard_normal((r, P, I))
    z_re = rng.standard_normal((r, P, I))
    key = rng.random((r, P))
    z_infl = rng.standard_normal((r, P))
    cps = settings.checkpoints
    z_exec = rng.standard_normal((r, P, max(len(cps), 1)))
    recovered = np.zeros((r, P))
    if cps:
        b = np.broadcast_to(inputs.budget, (r, P))
        recovered = monitor(b, np.broadcast_to(inputs.theta, (r, P)), z_exec, cps,
                            settings.execution_sd, settings.recovery_share)
    deps = inputs.departments.astype(str)
    infl_fixed = np.isin(deps, [str(d) for d in settings.inflation_by_department])
    model = _Model(scenario, specs, tuple(metrics), r, inputs, z_leaf, z_self, z_re, key,
                   z_infl, recovered, infl_fixed)
    system = scenario.system
    if system is not None and any(p.kind == "weight" for p in specs):
        model.groups = system.level1_index
        model.shares = group_shares(system.points, model.groups, len(system.level1_codes))
    return model


def _column(model: _Model, X: np.ndarray, kind: str, name: str | None = None
            ) -> np.ndarray | None:
    for j, p in enumerate(model.specs):
        if p.kind == kind and (name is None or p.setting == name or p.path == name):
            return X[:, j]
    return None


def _score(inp: Any, a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Total scores (n|1, r, P) of attainments a (n|1, r, P, I) under the system's level-1
    aggregation: Σ_i a_i × w_i with w (I,) or per sample (n, I) for a weighted sum; the other
    aggregations take the file's points (I,)."""
    if inp.aggregation != "weighted_sum":
        return total_score(a, w, groups=inp.groups, method=inp.aggregation,
                           total=float(w.sum()))
    if w.ndim == 1:
        return a @ w
    return np.matmul(a, w[:, None, :, None])[..., 0]


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) along the last axis."""
    n = x.shape[-1]
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    idx = np.broadcast_to(np.arange(n), xs.shape)
    first = np.ones(xs.shape, dtype=bool)
    first[..., 1:] = xs[..., 1:] != xs[..., :-1]
    last = np.ones(xs.shape, dtype=bool)
    last[..., :-1] = first[..., 1:]
    start = np.maximum.accumulate(np.where(first, idx, 0), axis=-1)
    end = np.flip(np.minimum.accumulate(np.flip(np.where(last, idx, n - 1), axis=-1), axis=-1),
                  axis=-1)
    avg = (start + end) / 2.0 + 1.0
    out = np.empty(xs.shape)
    np.put_along_axis(out, order, avg, axis=-1)
    return out


def _spearman(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    num = (rx * ry).sum(axis=-1)
    den = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _evaluate_chunk(model: _Model, X: np.ndarray) -> np.ndarray:
    """Metrics (n, m) for the samples X (n, k): each sample on the same r replications."""
    inp = model.inputs
    s = inp.settings
    sc = model.scenario
    n, r = X.shape[0], model.replications
    P = inp.n_projects
    N = n * r

    def per_sample(kind: str, name: str | None, base: float) -> np.ndarray:
        col = _column(model, X, kind, name)
        return np.full(1, float(base)) if col is None else col  # (n,) or (1,)

    def b4(v: np.ndarray) -> np.ndarray:  # (n|1,) → (n|1, 1, 1, 1)
        return v[:, None, None, None]

    # weights: a group's points then all rescaled to the total (the file's points otherwise)
    w: np.ndarray = inp.points
    if model.groups is not None:
        system = sc.system
        base_g = np.bincount(model.groups, weights=system.points,
                             minlength=len(system.level1_codes))
        g = np.repeat(base_g[None, :], n, axis=0)
        for j, p in enumerate(model.specs):
            if p.kind == "weight":
                g[:, p.index] = X[:, j]
        tot = g.sum(axis=1, keepdims=True)
        g = np.where(tot > 0, g * system.total / np.where(tot > 0, tot, 1.0), g)
        w = g[:, model.groups] * model.shares  # (n, I)

    theta = inp.theta[None, None, :, None]
    disp = per_sample("simulation", "leaf_dispersion", s.leaf_dispersion)
    a_true = np.clip(theta + b4(disp) * model.z_leaf[None], 0.0, 1.0)     # (n|1, r, P, I)
    true_score = _score(inp, a_true, w)                                        # (n|1, r, P)

    mean = per_sample("simulation", "inflation_mean", s.inflation_mean)
    infl = np.where(model.infl_fixed, inp.inflation_mean, mean[:, None])   # (n|1, P)
    sd = per_sample("simulation", "inflation_sd", s.inflation_sd)
    infl = infl[:, None, :] + sd[:, None, None] * model.z_infl[None]       # (n|1, r, P)
    noise = per_sample("simulation", "measurement_noise", s.measurement_noise)
    a_self = np.clip(a_true + infl[..., None] + b4(noise) * model.z_self[None], 0.0, 1.0)
    self_score = _score(inp, a_self, w)                                        # (n|1, r, P)
    del a_self

    share = per_sample("simulation", "check_share", s.check_share)
    score = self_score
    if np.any(share > 0):
        re_noise = per_sample("simulation", "recheck_noise", s.recheck_noise)
        re_score = _score(inp, np.clip(a_true + b4(re_noise) * model.z_re[None], 0.0, 1.0),
                          w)
        if s.check_selection == "random":
            rank = _order_rank(np.broadcast_to(-model.key, (1, r, P)))
        elif s.check_selection == "largest_budget":
            rank = _order_rank(np.broadcast_to(-inp.budget, (1, r, P)))
        else:
            rank = _order_rank(-self_score)
        n_check = np.rint(share * P)[:, None, None]
        checked = rank < n_check
        score = recheck_scores(self_score, re_score, checked, replace=s.recheck_replaces,
                               gap_rule=s.gap_rule, gap=s.gap, per=s.gap_per, step=s.gap_step,
                               inflation_penalty=s.inflation_penalty)
    del a_true

    def rows(a: np.ndarray) -> np.ndarray:  # (n|1, r, P) → (N, P)
        return np.broadcast_to(a, (n, r, P)).reshape(N, P)

    cutoffs = None
    if any(p.kind == "cutoff" for p in model.specs):
        c = np.repeat(np.asarray(sc.grading.cutoffs, dtype=float)[None, :], n, axis=0)
        for j, p in enumerate(model.specs):
            if p.kind == "cutoff":
                c[:, p.index] = X[:, j]
        cutoffs = np.repeat(c, r, axis=0)                                  # (N, K)
    table = None
    link = sc.linkage
    if any(p.kind in ("ratio", "multiplier") for p in model.specs):
        t = np.repeat(np.asarray(link.rule.multipliers, dtype=float)[None, :], n, axis=0)
        for j, p in enumerate(model.specs):
            if p.kind == "ratio":
                t[:, link.labels.index("fair")] = 1.0 - X[:, j]
            elif p.kind == "multiplier":
                t[:, p.index] = X[:, j]
        table = np.repeat(t, r, axis=0)                                    # (N, G)
    score_r = rows(score)
    true_r = rows(true_score)
    grading = sc.grading
    grade = grading.grade(score_r, cutoffs)
    true_grade = grading.grade(true_r, cutoffs)
    b = np.broadcast_to(inp.budget, (N, P))
    rec = np.broadcast_to(model.recovered[None], (n, r, P)).reshape(N, P)
    flags = {k: np.broadcast_to(v, (N, P)) for k, v in inp.flags.items()}
    good = min(1, len(grading.labels) - 1)
    last = len(grading.labels) - 1
    # escalation after one year: a first 差 already cancels (as in the Monte Carlo)
    cancel = (grade == last) if s.escalation_years == 1 else None
    res = link.apply(b - rec, score_r, grade, flags, cancel=cancel, table=table)
    nxt = res.next_budget
    active = np.ones((N, P), dtype=bool)
    out = np.empty((N, len(model.metrics)))
    for j, m in enumerate(model.metrics):
        if m == "savings":
            v = b.sum(axis=1) - nxt.sum(axis=1)
        elif m == "misgrading":
            v = mx.share(grade != true_grade, active)
        elif m == "wrong_cuts":
            v = np.where(true_grade <= good, res.cut + res.cancelled, 0.0).sum(axis=1)
        elif m == "rank_stability":
            rt = model.extra.get("true_ranks")
            if model.truth_shared:  # the truth does not depend on the samples
                if rt is None:
                    rt = model.extra["true_ranks"] = _ranks(true_score[0])
                rt = np.broadcast_to(rt[None], (n, r, P)).reshape(N, P)
            else:
                rt = _ranks(true_r)
            v = _spearman(_ranks(score_r), rt)
        elif m == "gini":
            v = mx.gini(nxt, nxt > 0)
        elif m == "top10_share":
            v = mx.top_share(nxt, nxt > 0)
        elif m == "cut_total":
            v = res.cut.sum(axis=1)
        elif m == "cancelled_total":
            v = res.cancelled.sum(axis=1)
        elif m == "rewarded_total":
            v = res.rewarded.sum(axis=1)
        elif m == "next_total":
            v = nxt.sum(axis=1)
        elif m == "kept_by_poor":
            v = np.where(true_grade == last, nxt, 0.0).sum(axis=1)
        elif m == "volatility":
            v = mx.volatility(b, nxt, active)
        elif m == "recovered":
            v = rec.sum(axis=1)
        else:  # share_<grade>
            v = (grade == grading.labels.index(m[len("share_"):])).mean(axis=1)
        out[:, j] = v
    return out.reshape(n, r, -1).mean(axis=1)


def _order_rank(key: np.ndarray) -> np.ndarray:
    """Rank (0 = first) of each project by ascending ``key``; ties go to the project listed
    first, as in :func:`perfsim.evaluation.select_for_check`."""
    order = np.argsort(key, axis=-1, kind="stable")
    rank = np.empty(order.shape, dtype=np.int64)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(key.shape[-1]), order.shape),
                      axis=-1)
    return rank


def chunk_size(scenario: Scenario, replications: int = 1) -> int:
    """Samples per chunk so that a chunk holds about :data:`CHUNK_CELLS` cells."""
    I = scenario.system.points.size if scenario.system is not None else 1  # noqa: E741
    # (samples × replications × projects) arrays are many (grades, linkage, metrics): count
    # them as 8 indicators at least
    cells = replications * scenario.portfolio.n_projects * max(I, 8)
    return max(1, CHUNK_CELLS // max(cells, 1))


def evaluate_samples(scenario: Scenario, names: Sequence[str], X: np.ndarray,
                     seed: int | None = None, *, metrics: Sequence[str] = DEFAULT_METRICS,
                     settings: Any = None, replications: int = 1, chunk: int | None = None,
                     ) -> np.ndarray:
    """Outcome metrics (n_samples, n_metrics) of parameter samples X (n_samples, k), columns
    in the order of ``names`` (scalar parameter paths). Samples are evaluated in chunks of
    ``chunk`` (default: :func:`chunk_size`), each sample as one row of a vectorised
    replication axis; ``seed`` (default: the scenario's) feeds the common random numbers, so
    the same seed gives the same numbers whatever the chunking."""
    X = np.asarray(X, dtype=float)
    names = list(names)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise InputError(field="X", value=X.shape,
                         problem=f"must be (samples, {len(names)}) for {len(names)} names")
    model = _prepare(scenario, names, metrics, seed, settings, replications)
    for j, p in enumerate(model.specs):
        lo, hi = p.valid
        bad = (X[:, j] < lo - 1e-12) | (X[:, j] > hi + 1e-12) | ~np.isfinite(X[:, j])
        if bad.any():
            raise InputError(field=p.path, value=float(X[np.argmax(bad), j]),
                             problem=f"outside the valid range [{lo:g}, {hi:g}]")
    step = chunk or chunk_size(scenario, replications)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise InputError(field="chunk", value=chunk, problem="must be a whole number >= 1")
    parts = [_evaluate_chunk(model, X[i:i + step]) for i in range(0, X.shape[0], step)]
    return np.concatenate(parts, axis=0) if parts else np.empty((0, len(model.metrics)))


# --- SALib drivers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SensitivityResult:
    """A sensitivity analysis: the tidy ``table`` (one row per metric × parameter), the
    samples ``X`` and outcomes ``Y``, and what was run."""

    method: str
    table: pd.DataFrame
    problem: dict[str, Any]
    metrics: tuple[str, ...]
    X: np.ndarray
    Y: np.ndarray
    n: int
    seed: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        return int(self.X.shape[0])

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "n": self.n, "seed": self.seed,
                "evaluations": self.evaluations, "seconds": round(self.seconds, 3),
                "parameters": [{"name": nm, "bounds": b} for nm, b in zip(
                    self.problem["names"], self.problem["bounds"], strict=True)],
                "metrics": list(self.metrics), **self.info,
                "table": self.table.to_dict(orient="records")}


def run_sobol(fn: Callable[[np.ndarray], np.ndarray], prob: Mapping[str, Any], n: int,
              metrics: Sequence[str], *, seed: int = 0, second_order: bool = False,
              conf_level: float = 0.95, num_resamples: int = 200) -> SensitivityResult:
    """Sobol indices of any vectorised model ``fn`` (X (samples, k) → Y (samples, metrics)):
    Saltelli/Sobol sampling, one call of ``fn`` on all samples, analysis per metric."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    _check_n(n, "n")
    t = time.perf_counter()
    X = sobol_sample.sample(dict(prob), int(n), calc_second_order=second_order, seed=seed)
    Y = np.asarray(fn(X), dtype=float).reshape(X.shape[0], -1)
    rows = []
    for j, m in enumerate(metrics):
        y = Y[:, j]
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            note = "constant output" if np.all(np.isfinite(y)) else "non-finite outputs"
            rows += [{"metric": m, "parameter": p, "S1": np.nan, "S1_conf": np.nan,
                      "ST": np.nan, "ST_conf": np.nan, "note": note} for p in prob["names"]]
            continue
        si = sobol_analyze.analyze(dict(prob), y, calc_second_order=second_order,
                                   num_resamples=num_resamples, conf_level=conf_level,
                                   seed=seed)
        for i, p in enumerate(prob["names"]):
            rows.append({"metric": m, "parameter": p, "S1": float(si["S1"][i]),
                         "S1_conf": float(si["S1_conf"][i]), "ST": float(si["ST"][i]),
                         "ST_conf": float(si["ST_conf"][i]), "note": ""})
    return SensitivityResult("sobol", pd.DataFrame(rows), dict(prob), tuple(metrics), X, Y,
                             int(n), int(seed), time.perf_counter() - t,
                             {"conf_level": conf_level, "second_order": second_order})


def run_morris(fn: Callable[[np.ndarray], np.ndarray], prob: Mapping[str, Any], n: int,
               metrics: Sequence[str], *, seed: int = 0, num_levels: int = 4,
               conf_level: float = 0.95, num_resamples: int = 200) -> SensitivityResult:
    """Morris screening of any vectorised model ``fn`` with ``n`` trajectories."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    _check_n(n, "n")
    t = time.perf_counter()
    X = morris_sample.sample(dict(prob), int(n), num_levels=num_levels, seed=seed)
    Y = np.asarray(fn(X), dtype=float).reshape(X.shape[0], -1)
    rows = []
    for j, m in enumerate(metrics):
        si = morris_analyze.analyze(dict(prob), X, Y[:, j], num_resamples=num_resamples,
                                    conf_level=conf_level, num_levels=num_levels, seed=seed)
        for i, p in enumerate(prob["names"]):
            rows.append({"metric": m, "parameter": p, "mu": float(si["mu"][i]),
                         "mu_star": float(si["mu_star"][i]),
                         "mu_star_conf": float(si["mu_star_conf"][i]),
                         "sigma": float(si["sigma"][i])})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby("metric")["mu_star"].rank(ascending=False, method="min"
                                                            ).astype(int)
    return SensitivityResult("morris", table, dict(prob), tuple(metrics), X, Y, int(n),
                             int(seed), time.perf_counter() - t,
                             {"conf_level": conf_level, "num_levels": num_levels})


def _check_n(n: Any, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise InputError(field=name, value=n, problem="must be a whole number >= 2")


def _scenario_fn(scenario: Scenario, specs: Sequence[ParamSpec], metrics: Sequence[str],
                 seed: int | None, settings: Any, replications: int, chunk: int | None
                 ) -> Callable[[np.ndarray], np.ndarray]:
    names = [s.name for s in specs]
    return lambda X: evaluate_samples(scenario, names, X, seed, metrics=metrics,
                                      settings=settings, replications=replications, chunk=chunk)


def _specs(scenario: Scenario, params: Any) -> list[ParamSpec]:
    if isinstance(params, str | Path):
        return load_params(params, scenario)
    if params and all(isinstance(p, ParamSpec) for p in params):
        return list(params)
    return params_from_list(scenario, params)


def sobol(scenario: Scenario, params: Any, n: int = 256, *,
          metrics: Sequence[str] = DEFAULT_METRICS, seed: int | None = None,
          replications: int = 1, settings: Any = None, chunk: int | None = None,
          second_order: bool = False, conf_level: float = 0.95, num_resamples: int = 200
          ) -> SensitivityResult:
    """Sobol first- and total-order indices (with ``conf_level`` bootstrap intervals) of the
    outcome ``metrics`` to the ``params`` (a params file, or a list of ``{name, bounds}``)."""
    specs = _specs(scenario, params)
    seed = scenario.seed if seed is None else int(seed)
    fn = _scenario_fn(scenario, specs, metrics, seed, settings, replications, chunk)
    res = run_sobol(fn, problem(specs), n, metrics, seed=seed, second_order=second_order,
                    conf_level=conf_level, num_resamples=num_resamples)
    return _tag(res, scenario, replications)


def morris(scenario: Scenario, params: Any, n: int = 20, *,
           metrics: Sequence[str] = DEFAULT_METRICS, seed: int | None = None,
           replications: int = 1, settings: Any = None, chunk: int | None = None,
           num_levels: int = 4, conf_level: float = 0.95, num_resamples: int = 200
           ) -> SensitivityResult:
    """Morris screening (``n`` trajectories) of the outcome ``metrics`` to the ``params``."""
    specs = _specs(scenario, params)
    seed = scenario.seed if seed is None else int(seed)
    fn = _scenario_fn(scenario, specs, metrics, seed, settings, replications, chunk)
    res = run_morris(fn, problem(specs), n, metrics, seed=seed, num_levels=num_levels,
                     conf_level=conf_level, num_resamples=num_resamples)
    return _tag(res, scenario, replications)


def _tag(res: SensitivityResult, scenario: Scenario, replications: int) -> SensitivityResult:
    info = {**res.info, "scenario": scenario.name, "projects": scenario.portfolio.n_projects,
            "replications": replications,
            "units": {m: SAMPLE_METRICS.get(m, "share") for m in res.metrics}}
    return SensitivityResult(res.method, res.table, res.problem, res.metrics, res.X, res.Y,
                             res.n, res.seed, res.seconds, info)


# --- output ------------------------------------------------------------------------------------

def format_sensitivity(res: SensitivityResult) -> str:
    """Readable tables, one per metric."""
    i = res.info
    head = (f"{res.method} sensitivity: {i.get('scenario', '')}, {res.problem['num_vars']} "
            f"parameters, n = {res.n}, {res.evaluations:,} model evaluations "
            f"({i.get('projects', '?')} projects × {i.get('replications', 1)} replication(s)), "
            f"{res.seconds:.1f} s, seed {res.seed}")
    lines = [head]
    for m in res.metrics:
        t = res.table.loc[res.table["metric"] == m].drop(columns=["metric"])
        unit = i.get("units", {}).get(m, "")
        lines.append("")
        if res.method == "sobol":
            lines.append(f"{m} ({unit}): first-order S1 and total-order ST, ± "
                         f"{i.get('conf_level', 0.95):.0%} interval half-width")
            t = t.sort_values("ST", ascending=False)
            body = pd.DataFrame({
                "parameter": t["parameter"],
                "S1": [f"{a:.3f} ± {b:.3f}" if a == a else "—" for a, b in zip(
                    t["S1"], t["S1_conf"], strict=True)],
                "ST": [f"{a:.3f} ± {b:.3f}" if a == a else "—" for a, b in zip(
                    t["ST"], t["ST_conf"], strict=True)],
                "note": t["note"]})
        else:
            lines.append(f"{m} ({unit} per full parameter range): Morris μ* ± interval, μ, σ")
            t = t.sort_values("mu_star", ascending=False)
            body = pd.DataFrame({
                "rank": t["rank"], "parameter": t["parameter"],
                "mu_star": [f"{a:,.4g} ± {b:,.2g}" for a, b in zip(
                    t["mu_star"], t["mu_star_conf"], strict=True)],
                "mu": [f"{v:,.4g}" for v in t["mu"]], "sigma": [f"{v:,.4g}" for v in t["sigma"]]})
        lines += ["  " + ln for ln in body.to_string(index=False).splitlines()]
    return "\n".join(lines)


def tidy_long(res: SensitivityResult) -> pd.DataFrame:
    """The table in long form: metric, parameter, index (S1/ST or mu_star/mu/sigma), value,
    conf (interval half-width, NaN where none)."""
    t = res.table
    if res.method == "sobol":
        parts = [t.assign(index=k, value=t[k], conf=t[f"{k}_conf"]) for k in ("S1", "ST")]
    else:
        parts = [t.assign(index="mu_star", value=t["mu_star"], conf=t["mu_star_conf"]),
                 t.assign(index="mu", value=t["mu"], conf=math.nan),
                 t.assign(index="sigma", value=t["sigma"], conf=math.nan)]
    return pd.concat(parts)[["metric", "parameter", "index", "value", "conf"]].reset_index(
        drop=True)
