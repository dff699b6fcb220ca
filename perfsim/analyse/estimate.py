"""Estimation with statsmodels: what observed evaluation data say about the process.

Three models, each returning an :class:`Estimate` — the fitted model's ``summary`` (a
statsmodels ``Summary``; ``str()`` it to print), a tidy ``table`` with one row per term
(``term, estimate, std_error, ci_low, ci_high, p_value``) and the statsmodels ``result``:

- :func:`ordered_grades` — an ordered logit or probit
  (:class:`statsmodels.miscmodels.ordinal_model.OrderedModel`) of grades on level-1 scores
  (points earned per level-1 group). Grades are ordered worst → best, so a positive
  coefficient means a higher score makes a better grade more likely. statsmodels parameterises
  the thresholds as the first cut point followed by the logs of the increments between
  successive cut points; the table keeps those parameters (terms ``cut poor|fair`` and
  ``log step fair|good`` ...) and ``extra["thresholds"]`` gives the cut points themselves on
  the latent scale.
- :func:`inflation_model` — a linear mixed model (statsmodels ``MixedLM``) of the
  self-versus-re-check gap (self-score − re-check score, points) with a random intercept per
  department: the fixed intercept estimates the mean inflation (points), the department
  variance how much inflation differs between departments (its standard error and interval
  are the statsmodels ones for the variance parameter, times the residual scale). Per-department
  effects (predicted random intercepts) are in ``extra["departments"]``.
- :func:`budget_change_model` — an OLS regression of next year's budget change on the score
  (points) and the grade (dummies against a reference grade, the best by default). The change
  is relative (next / budget − 1, a share) unless ``relative=False`` (yuan). ``run_year(...)
  .allocations`` can be passed as it is.

Intervals are ``conf_level`` (default 95%) Wald intervals, as statsmodels computes them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.kernel.grading import NATIONAL, LabelSet
from perfsim.run.year import NOT_EVALUATED

COLUMNS = ("term", "estimate", "std_error", "ci_low", "ci_high", "p_value")


@dataclass(frozen=True)
class Estimate:
    """A fitted model: statsmodels summary, tidy table, result object and extras."""

    model: str
    summary: Any
    table: pd.DataFrame
    result: Any
    n_obs: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return str(self.summary)


def _tidy(terms: Sequence[str], est: Any, se: Any, ci: Any, p: Any) -> pd.DataFrame:
    ci = np.asarray(ci, dtype=float).reshape(len(terms), 2)
    return pd.DataFrame({
        "term": list(terms), "estimate": np.asarray(est, dtype=float),
        "std_error": np.asarray(se, dtype=float), "ci_low": ci[:, 0], "ci_high": ci[:, 1],
        "p_value": np.asarray(p, dtype=float)})


def _need(data: pd.DataFrame, cols: Sequence[str], model: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise InputError(where=model, problem="data must be a pandas DataFrame")
    for c in cols:
        if c not in data.columns:
            have = ", ".join(map(str, data.columns))
            raise InputError(where=model, field=c, problem=f"no such column (columns: {have})")


#: The largest magnitude an input value may have. No score (points), budget (yuan) or gap comes
#: near it, and beyond it the models' sums of squares overflow: a value this large is a typing
#: or unit error, refused with its row rather than fitted into a table of blanks.
LIMIT = 1e15


def _row(label: Any) -> str:
    """The row of a data row as a spreadsheet of the CSV shows it (the header is row 1)."""
    return f"row {int(label) + 2}"


def _positional(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with each row labelled by its place among the file's rows (0: the row under
    the header), as :func:`_row` reads labels: its own labels where they are unique whole
    numbers >= 0 (a frame as pandas read it from the file, perhaps filtered; or ``perfsim
    estimate``'s, empty lines counted), else the rows' positions."""
    idx = data.index
    if (pd.api.types.is_integer_dtype(idx) and idx.is_unique
            and (len(idx) == 0 or int(idx.min()) >= 0)):
        return data
    return data.reset_index(drop=True)


def _numbers(data: pd.DataFrame, col: str) -> np.ndarray:
    """Column ``col`` as finite floats; a blank, a text, an infinity or a value beyond
    :data:`LIMIT` is refused with its row (``data`` is indexed by position in the file)."""
    raw = data[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (np.abs(values) > LIMIT)
    if not bad.any():
        return values
    pos = int(np.flatnonzero(bad)[0])
    where, value = _row(data.index[pos]), raw.iloc[pos]
    if pd.isna(value):
        raise InputError(where=where, field=col, problem="missing value (a blank or NaN cell)")
    if np.isnan(values[pos]):
        raise InputError(where=where, field=col, value=value, problem="must be a number")
    if np.isinf(values[pos]):
        raise InputError(where=where, field=col, value=value, problem="must be a finite number")
    raise InputError(where=where, field=col, value=value,
                     problem=f"too large: must lie within ±{LIMIT:g}")


def _enough(n: int, terms: int, model: str) -> None:
    """Refuse a fit with no more rows than terms (it has no residual degrees of freedom)."""
    if n <= terms:
        raise InputError(where=model, field="rows", value=n,
                         problem=f"too few projects to fit the model: needs more than {terms} "
                                 f"(one per term)")


def _grade_index(values: pd.Series, labels: LabelSet, field: str = "grade") -> np.ndarray:
    """Grade indices, 0 = best, from codes, Chinese labels or integers; a blank or unknown
    grade is refused with its row."""
    if pd.api.types.is_integer_dtype(values):
        g = values.to_numpy(dtype=int)
        bad = (g < 0) | (g >= len(labels))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise InputError(where=_row(values.index[pos]), field=field, value=int(g[pos]),
                             problem=f"grade indices must lie in 0..{len(labels) - 1}")
        return g
    out = np.empty(len(values), dtype=int)
    for pos, (label, v) in enumerate(values.items()):
        if pd.isna(v) or not str(v).strip():
            raise InputError(where=_row(label), field=field,
                             problem="missing value (a blank or NaN cell)")
        try:
            out[pos] = labels.index(str(v).strip())
        except InputError as err:
            raise err.at(where=_row(label), field=field) from None
    return out


# --- ordered logit / probit -------------------------------------------------------------------

def level1_scores(system: Any, measurements: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Points earned per level-1 group (columns = level-1 codes) from raw measurements."""
    a = np.asarray(system.attainment(measurements), dtype=float)
    earned = a * system.points
    out = np.zeros((a.shape[0], len(system.level1_codes)))
    np.add.at(out.T, system.level1_index, earned.T)
    return pd.DataFrame(out, columns=list(system.level1_codes))


def ordered_grades(data: pd.DataFrame, scores: Sequence[str], *, grade: str = "grade",
                   labels: LabelSet = NATIONAL, distr: str = "logit",
                   conf_level: float = 0.95) -> Estimate:
    """Ordered logit (``distr="logit"``) or probit (``"probit"``) of ``grade`` on the
    ``scores`` columns (level-1 points). No constant: the thresholds play its part."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    if distr not in ("logit", "probit"):
        raise InputError(where="ordered_grades", field="distr", value=distr,
                         problem="must be logit or probit")
    scores = list(scores)
    if not scores:
        raise InputError(where="ordered_grades", field="scores",
                         problem="give at least one score column")
    _need(data, [grade, *scores], "ordered_grades")
    data = _positional(data)
    X = pd.DataFrame({c: _numbers(data, c) for c in scores})
    g = _grade_index(data[grade], labels, grade)
    worst_first = len(labels) - 1 - g
    present = np.unique(worst_first)
    if present.size < 2:
        raise InputError(where="ordered_grades", field=grade,
                         problem="needs at least two different grades")
    for c in scores:
        if np.ptp(X[c].to_numpy()) == 0:
            raise InputError(where="ordered_grades", field=c, value=float(X[c].iloc[0]),
                             problem="the same for every project fitted, so its effect cannot "
                                     "be told from the thresholds")
    names = [labels.codes[len(labels) - 1 - k] for k in present]  # worst first
    y = pd.Series(pd.Categorical(worst_first, categories=list(present), ordered=True))
    _enough(len(y), len(scores) + len(present) - 1, "ordered_grades")
    model = OrderedModel(y, X, distr=distr)
    res = model.fit(method="bfgs", disp=False, maxiter=2000)
    k = len(scores)
    terms = list(scores)
    terms += [f"cut {names[0]}|{names[1]}"]
    terms += [f"log step {names[i]}|{names[i + 1]}" for i in range(1, len(names) - 1)]
    ci = res.conf_int(alpha=1 - conf_level)
    table = _tidy(terms, res.params, res.bse, ci, res.pvalues)
    cuts = model.transform_threshold_params(res.params)[1:-1]
    thresholds = pd.DataFrame({"between": [f"{names[i]}|{names[i + 1]}" for i in range(
        len(names) - 1)], "latent_cut": cuts})
    return Estimate(f"ordered {distr}", res.summary(), table, res, int(len(y)),
                    {"thresholds": thresholds, "coefficients": k, "converged": bool(
                        res.mle_retvals.get("converged", True))})


# --- mixed model of inflation --------------------------------------------------------------

def inflation_model(data: pd.DataFrame, *, gap: str | None = None,
                    self_score: str = "self_score", recheck_score: str = "recheck_score",
                    department: str = "department", covariates: Sequence[str] = (),
                    conf_level: float = 0.95, reml: bool = True) -> Estimate:
    """MixedLM of the gap (``gap`` column, or ``self_score − recheck_score``, points) on an
    intercept and ``covariates``, with a random intercept per ``department``."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    covariates = list(covariates)
    cols = [department, *covariates] + ([gap] if gap else [self_score, recheck_score])
    _need(data, cols, "inflation_model")
    data = _positional(data)
    y = (_numbers(data, gap) if gap else
         _numbers(data, self_score) - _numbers(data, recheck_score))
    X = pd.DataFrame({"Intercept": np.ones(len(data))})
    for c in covariates:
        X[c] = _numbers(data, c)
    blank = data[department].isna() | (data[department].astype(str).str.strip() == "")
    if blank.any():
        raise InputError(where=_row(data.index[blank.to_numpy()][0]), field=department,
                         problem="missing value (a blank or NaN cell)")
    groups = data[department].astype(str).to_numpy()
    if np.unique(groups).size < 2:
        raise InputError(where="inflation_model", field=department,
                         problem="needs at least two departments")
    if np.ptp(y) == 0:
        raise InputError(where="inflation_model", field=gap or f"{self_score} - {recheck_score}",
                         value=float(y[0]), problem="the same for every project, so there is no "
                         "variation to split between departments (the mean inflation is this "
                         "value)")
    terms = ["intercept (mean inflation)", *covariates]
    model = sm.MixedLM(y, X, groups=groups)
    with warnings.catch_warnings():  # whether it converged is reported: extra["converged"]
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # the optimiser's trial steps
        try:
            res = model.fit(reml=reml)
        except np.linalg.LinAlgError:
            raise InputError(where="inflation_model", field="rows", value=len(y),
                             problem="too few re-checked projects per department to fit the "
                                     "model (a singular matrix)") from None
    k = X.shape[1]
    ci = np.asarray(res.conf_int(alpha=1 - conf_level), dtype=float)
    scale = float(res.scale)
    est = list(np.asarray(res.fe_params, dtype=float))
    se = list(np.asarray(res.bse_fe, dtype=float))
    low = list(ci[:k, 0])
    high = list(ci[:k, 1])
    p = list(np.asarray(res.pvalues, dtype=float)[:k])
    # the department variance: statsmodels' parameter is relative to the residual scale
    est.append(float(np.asarray(res.cov_re)[0, 0]))
    se.append(float(np.asarray(res.bse)[k]) * scale)
    low.append(max(0.0, float(ci[k, 0]) * scale))
    high.append(float(ci[k, 1]) * scale)
    p.append(np.nan)
    est.append(scale)
    se.append(np.nan)
    low.append(np.nan)
    high.append(np.nan)
    p.append(np.nan)
    table = _tidy([*terms, "department variance", "residual variance"], est, se,
                  np.column_stack([low, high]), p)
    try:
        re = res.random_effects
    except ValueError:  # a zero department variance: every department at the mean
        re = {d: np.zeros(1) for d in np.unique(groups)}
    deps = pd.DataFrame({"department": list(re),
                         "effect": [float(np.asarray(v)[0]) for v in re.values()]})
    deps["inflation"] = deps["effect"] + est[0]
    return Estimate("mixed linear model (random intercept per department)", res.summary(),
                    table, res, int(len(y)), {"departments": deps, "converged": bool(
                        res.converged)})


def inflation_table(data: pd.DataFrame) -> pd.DataFrame:
    """The estimates of :func:`inflation_model` fitted to re-check data (points)."""
    return inflation_model(data).table


def inflation_ranking(data: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The ``top`` departments by the inflation :func:`inflation_model` predicts for them
    (points), highest first."""
    return inflation_model(data).extra["departments"].sort_values(
        "inflation", ascending=False, ignore_index=True).head(int(top))


# --- OLS of next year's budget change ----------------------------------------------------------

def budget_change_model(data: pd.DataFrame, *, score: str = "score", grade: str = "grade",
                        budget: str = "budget", next_budget: str = "next_budget",
                        change: str | None = None, relative: bool = True,
                        labels: LabelSet = NATIONAL, reference: str | None = None,
                        cov_type: str = "nonrobust", conf_level: float = 0.95) -> Estimate:
    """OLS of the budget change on ``score`` and grade dummies (reference: ``reference`` or the
    best grade present). The change is ``change`` if given, else ``next/budget − 1``
    (``relative``) or ``next − budget`` (yuan). Projects not evaluated that year (grade
    ``not_evaluated``: a coverage or cross-year rule) have no grade and are left out."""
    import statsmodels.api as sm

    cols = [score, grade] + ([change] if change else [budget, next_budget])
    _need(data, cols, "budget_change_model")
    data = _positional(data)
    if data.empty:
        raise InputError(where="budget_change_model", problem="no projects (the table is empty)")
    data = data[~data[grade].astype(str).str.strip().isin(NOT_EVALUATED)]
    if data.empty:
        raise InputError(where="budget_change_model", field=grade,
                         problem="no project was evaluated (every grade is not_evaluated), "
                                 "so there is nothing to fit")
    if change:
        y = _numbers(data, change)
    else:
        b = _numbers(data, budget)
        nb = _numbers(data, next_budget)
        if relative:
            keep = b > 0
            if not keep.any():
                raise InputError(where="budget_change_model", field=budget,
                                 problem="no evaluated project has a budget > 0, so there is "
                                         "no relative change (next_budget / budget - 1) to fit")
            if not keep.all():
                data, b, nb = data.loc[keep], b[keep], nb[keep]
            y = nb / b - 1.0
            over = ~np.isfinite(y) | (np.abs(y) > LIMIT)
            if over.any():
                pos = int(np.flatnonzero(over)[0])
                raise InputError(where=_row(data.index[pos]), field=budget, value=float(b[pos]),
                                 problem=f"too small for next_budget {nb[pos]:g}: the relative "
                                         "change overflows")
        else:
            y = nb - b
    g = _grade_index(data[grade], labels, grade)
    present = sorted(set(g.tolist()))
    ref = labels.index(reference) if reference is not None else present[0]
    if ref not in present:
        raise InputError(where="budget_change_model", field="reference", value=reference,
                         problem=f"no project has that grade (present: "
                                 f"{', '.join(labels.codes[k] for k in present)})")
    X = pd.DataFrame({"const": 1.0, score: _numbers(data, score)})
    for k in present:
        if k != ref:
            X[f"grade[{labels.codes[k]}]"] = (g == k).astype(float)
    _enough(len(y), X.shape[1], "budget_change_model")
    if np.ptp(X[score].to_numpy()) == 0:
        raise InputError(where="budget_change_model", field=score, value=float(X[score].iloc[0]),
                         problem="the same for every project fitted, so its effect cannot be "
                                 "told from the intercept")
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise InputError(where="budget_change_model", field=grade,
                         problem="the grades are a function of the score here, so their effects "
                                 "cannot be told apart (a rank-deficient design)")
    with warnings.catch_warnings():
        # a budget change the same for every project is fitted exactly: R² is undefined and
        # the summary's residual moments degenerate, which is no problem of the estimates
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message="omni_normtest is not valid")  # < 8 rows
        res = sm.OLS(y, X).fit(cov_type=cov_type)
        ci = res.conf_int(alpha=1 - conf_level)
        table = _tidy(list(X.columns), res.params, res.bse, ci, res.pvalues)
        summary = res.summary()
        r_squared = float(res.rsquared)
    return Estimate(f"OLS of the {'relative ' if relative and not change else ''}budget change",
                    summary, table, res, int(len(y)),
                    {"reference_grade": labels.codes[ref], "r_squared": r_squared})


#: The models ``perfsim estimate`` runs on a CSV, by command-line name.
MODELS = ("grades", "inflation", "budget-change")


def estimate_file(model: str, path: str | Path, *, scores: Sequence[str] = (),
                  labels: LabelSet = NATIONAL, conf_level: float = 0.95) -> Estimate:
    """One of :data:`MODELS` fitted to a CSV file (UTF-8, with or without a BOM):

    - ``grades``: :func:`ordered_grades` of column ``grade`` on the ``scores`` columns;
    - ``inflation``: :func:`inflation_model` of ``self_score − recheck_score`` (or a ``gap``
      column) with a random intercept per ``department``;
    - ``budget-change``: :func:`budget_change_model` of ``next_budget / budget − 1`` on
      ``score`` and ``grade`` (a ``perfsim run`` allocations.csv can be given as it is).

    Errors name the file."""
    path = Path(path)
    if model not in MODELS:
        raise InputError(path, field="model", value=model,
                         problem=f"unknown model (known: {', '.join(MODELS)})")
    if not path.is_file():
        raise InputError(path, problem="file not found")
    try:
        data, _, sheet = textfiles.read_csv_rows(path)
        # each row labelled by its place among the file's rows, empty lines counted (0: the
        # row under the header), so that a refusal names the row the spreadsheet shows
        data.index = pd.Index(sheet) - 2
    except ValueError as exc:  # InputError (neither UTF-8 nor GB18030) passes as it is
        if isinstance(exc, InputError):
            raise
        raise InputError(path, problem=f"not a readable CSV file ({exc.__class__.__name__})"
                         ) from None
    try:
        if model == "grades":
            if not scores:
                raise InputError(field="--scores",
                                 problem="name the score columns, e.g. --scores OUT,BEN")
            return ordered_grades(data, scores, labels=labels, conf_level=conf_level)
        if model == "inflation":
            gap = "gap" if "gap" in data.columns else None
            return inflation_model(data, gap=gap, conf_level=conf_level)
        return budget_change_model(data, labels=labels, conf_level=conf_level)
    except InputError as err:
        raise err.at(path) from None
    except (np.linalg.LinAlgError, ValueError) as exc:  # data the model cannot fit
        raise InputError(path, where=model, problem=f"the model cannot be fitted to these "
                         f"data ({exc.__class__.__name__}: {exc})") from None
