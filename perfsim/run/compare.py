"""Comparing weighting schemes on one scenario's portfolio: scores, grades and money per
scheme, rank correlations, grade transitions, money moved (see :mod:`perfsim.model.weights`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from perfsim.errors import InputError
from perfsim.kernel.linkage import STATUSES
from perfsim.model.scenario import Scenario
from perfsim.model.weighting_spec import WeightingSpec, parse_weighting, within
from perfsim.model.weights import apply_weighting, project_data, weights_frame
from perfsim.run.step import observed_year

#: Six schemes for :func:`compare_schemes` that need nothing but the portfolio: the file's
#: points, equal weights, the three objective methods, and expert points blended half and half
#: with entropy weights — each applied at both tiers.
DEFAULT_SCHEMES: dict[str, dict[str, Any]] = {
    "expert": {},
    "equal": {"groups": "equal", "leaves": "equal"},
    "entropy": {"groups": "entropy", "leaves": "entropy"},
    "critic": {"groups": "critic", "leaves": "critic"},
    "pca": {"groups": "pca", "leaves": "pca"},
    "expert+entropy": {
        "groups": {"method": "combined", "subjective": "expert", "objective": "entropy",
                   "alpha": 0.5},
        "leaves": {"method": "combined", "subjective": "expert", "objective": "entropy",
                   "alpha": 0.5},
    },
}
# --------------------------------------------------------------------------------------------
# Comparing schemes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Several weighting schemes applied to one scenario's portfolio; all tables are tidy.

    ``projects``: one row per scheme × project — ``scheme, project_id, department, budget,
    score`` (points), ``rank`` (1 = best; ties share the best rank), ``grade, grade_zh,
    next_budget, change`` (yuan, next budget − budget) and ``status``.

    ``weights``: one row per scheme × level-1 group (``level='group'``) and per scheme × leaf
    (``level='leaf'``) — ``code, group, name_zh, name_en, points, share`` (of the total).

    ``correlations``: one row per ordered pair of schemes (a scheme with itself included) —
    ``scheme_a, scheme_b, spearman, kendall`` (Spearman's ρ and Kendall's τ-b of the scores).

    ``transitions``: per scheme, the projects moving from each grade under the reference scheme
    (``grade_from``) to each grade under the scheme (``grade_to``), every pair of labels listed
    (zero counts included); :meth:`transition_matrix` gives one as a cross table.

    ``departments``: one row per scheme × department — ``projects, budget, next_budget`` (yuan)
    and ``moved`` = next budget under the scheme − next budget under the reference (yuan; it
    adds up over departments to the difference of the schemes' total next budgets).

    ``summary``: one row per scheme — its description, mean score, projects per grade,
    ``changed_grade`` (projects whose grade differs from the reference), correlations with the
    reference, total ``next_budget``, ``departments_gaining``/``departments_losing`` against
    the reference, ``money_gained`` = Σ max(moved, 0) and ``money_lost`` = Σ max(−moved, 0) over
    departments, and ``net_change`` = money gained − money lost = the difference of the total
    next budgets (all yuan).
    """

    scenario: str
    reference: str
    schemes: tuple[str, ...]
    specs: Mapping[str, WeightingSpec]
    grade_codes: tuple[str, ...]
    grade_zh: tuple[str, ...]
    projects: pd.DataFrame
    weights: pd.DataFrame
    correlations: pd.DataFrame
    transitions: pd.DataFrame
    departments: pd.DataFrame
    summary: pd.DataFrame

    def transition_matrix(self, scheme: str) -> pd.DataFrame:
        """Projects by grade under the reference (rows) × grade under ``scheme`` (columns),
        every grade label present (a pandas crosstab)."""
        self._check(scheme)
        t = self.transitions[self.transitions["scheme"] == scheme]
        wide = t.pivot(index="grade_from", columns="grade_to", values="projects")
        wide = wide.reindex(index=list(self.grade_codes), columns=list(self.grade_codes))
        wide.index.name = f"{self.reference} (reference)"
        wide.columns.name = scheme
        return wide.astype(int)

    def correlation_matrix(self, kind: str = "spearman") -> pd.DataFrame:
        """Scheme × scheme matrix of ``'spearman'`` or ``'kendall'`` rank correlations."""
        if kind not in ("spearman", "kendall"):
            raise InputError(field="kind", value=kind, problem="must be spearman or kendall")
        wide = self.correlations.pivot(index="scheme_a", columns="scheme_b", values=kind)
        return wide.reindex(index=list(self.schemes), columns=list(self.schemes))

    def _check(self, scheme: str) -> None:
        if scheme not in self.schemes:
            raise InputError(field="scheme", value=scheme,
                             problem=f"unknown scheme (known: {', '.join(self.schemes)})")


def compare_schemes(scenario: Scenario,
                    schemes: Mapping[str, WeightingSpec | Mapping[str, Any] | None] | None = None,
                    *, reference: str | None = None, base: str | Path | None = None
                    ) -> Comparison:
    """Score, grade and link ``scenario``'s portfolio under each weighting scheme.

    ``schemes`` maps names to schemes (a :class:`WeightingSpec` or a ``weighting:`` block;
    relative paths start at ``base``, default the scenario file's folder); default
    :data:`DEFAULT_SCHEMES`. Every scheme starts from the scenario's indicator system as loaded
    (after the scenario's own ``weighting:`` block, if any), so ``expert`` means those points.
    ``reference`` (default: the first scheme) is the scheme the transitions and the money moved
    are measured against. The scenario needs an indicator system and a portfolio with
    measurements. Projects are handled as arrays; only the few schemes are looped over.
    """
    schemes = dict(DEFAULT_SCHEMES if schemes is None else schemes)
    if len(schemes) < 1:
        raise InputError(field="schemes", problem="give at least one scheme")
    names = tuple(str(n) for n in schemes)
    reference = names[0] if reference is None else reference
    if reference not in names:
        raise InputError(field="reference", value=reference,
                         problem=f"not one of the schemes ({', '.join(names)})")
    system, pf = scenario.system, scenario.portfolio
    if system is None:
        raise InputError(scenario.source, field="indicator_system",
                         problem="comparing weighting schemes needs an indicator system")
    if pf.has_scores or not pf.measured:
        raise InputError(scenario.source, field="portfolio",
                         problem="comparing weighting schemes needs indicator measurements, "
                                 f"but {pf.source} holds ready scores")
    folder = Path(base) if base is not None else (
        Path(scenario.source).parent if scenario.source else None)
    specs = {}
    for name, spec in schemes.items():
        try:
            specs[str(name)] = parse_weighting(spec, base=folder).resolve(system)
        except InputError as err:
            raise within(err, f"scheme {name}") from None
    data = project_data(system, pf, scenario.source)
    budget = pf.budget
    labels = scenario.grading.labels

    systems, scores = [], []
    for name in names:
        try:
            s = apply_weighting(system, specs[name], pf, _data=data)
        except InputError as err:
            raise within(err, f"scheme {name}") from None
        systems.append(s)
        scores.append(scenario.replace(system=s).scores())
    # one kernel call: each scheme is a row
    # the evaluation cycle's draws of the one-year run, shared by every scheme (common
    # random numbers: a project rectifies, or not, whichever scheme graded it)
    outcome = observed_year(scenario, np.array(scores))
    S, P = len(names), pf.n_projects
    score_arr, grade_arr, next_arr = outcome.score, outcome.grade, outcome.next_budget
    status = outcome.link.status

    codes = np.asarray(labels.codes, dtype=object)
    projects = pd.DataFrame({
        "scheme": np.repeat(np.asarray(names, dtype=object), P),
        "project_id": np.tile(pf.ids, S),
        "department": np.tile(pf.departments, S),
        "budget": np.tile(budget, S),
        "score": score_arr.ravel(),
        "rank": stats.rankdata(-score_arr, method="min", axis=1).astype(np.int64).ravel(),
        "grade": codes[grade_arr.ravel()],
        "grade_zh": np.asarray(labels.zh, dtype=object)[grade_arr.ravel()],
        "next_budget": next_arr.ravel(),
        "change": (next_arr - budget).ravel(),
        "status": np.asarray(STATUSES, dtype=object)[np.array(status).ravel()],
    })

    weights = pd.concat(
        [pd.concat([weights_frame(s, "groups").assign(level="group"),
                    weights_frame(s, "leaves").assign(level="leaf")]).assign(scheme=name)
         for name, s in zip(names, systems, strict=True)], ignore_index=True)
    weights = weights[["scheme", "level", "code", "group", "name_zh", "name_en", "points",
                       "share"]]

    rows = []
    for i in range(S):
        for j in range(i, S):
            rho = float(stats.spearmanr(score_arr[i], score_arr[j]).statistic)
            tau = float(stats.kendalltau(score_arr[i], score_arr[j]).statistic)
            rows.append((names[i], names[j], rho, tau))
            if j != i:
                rows.append((names[j], names[i], rho, tau))
    correlations = pd.DataFrame(rows, columns=["scheme_a", "scheme_b", "spearman", "kendall"])
    order = {n: k for k, n in enumerate(names)}
    correlations = correlations.sort_values(
        ["scheme_a", "scheme_b"], key=lambda c: c.map(order)).reset_index(drop=True)

    ref = names.index(reference)
    ref_cat = pd.Categorical(codes[grade_arr[ref]], categories=list(labels.codes))
    tables = []
    for k, name in enumerate(names):
        cross = pd.crosstab(ref_cat, pd.Categorical(codes[grade_arr[k]],
                                                    categories=list(labels.codes)),
                            dropna=False)
        cross = cross.reindex(index=list(labels.codes), columns=list(labels.codes),
                              fill_value=0)
        long = cross.stack().rename("projects").reset_index()
        long.columns = ["grade_from", "grade_to", "projects"]
        tables.append(long.assign(scheme=name))
    transitions = pd.concat(tables, ignore_index=True)
    zh = dict(zip(labels.codes, labels.zh, strict=True))
    transitions = transitions.assign(
        reference=reference,
        grade_from_zh=transitions["grade_from"].astype(str).map(zh),
        grade_to_zh=transitions["grade_to"].astype(str).map(zh),
        grade_from=transitions["grade_from"].astype(str),
        grade_to=transitions["grade_to"].astype(str),
        projects=transitions["projects"].astype(np.int64),
    )[["reference", "scheme", "grade_from", "grade_to", "grade_from_zh", "grade_to_zh",
       "projects"]]

    dep_index, dep_names = pd.factorize(pd.Series(pf.departments), sort=True)
    n_dep = len(dep_names)
    dep_budget = np.bincount(dep_index, weights=budget, minlength=n_dep)
    dep_next = np.array([np.bincount(dep_index, weights=nx, minlength=n_dep) for nx in next_arr])
    dep_moved = dep_next - dep_next[ref]
    departments = pd.DataFrame({
        "scheme": np.repeat(np.asarray(names, dtype=object), n_dep),
        "department": np.tile(np.asarray(dep_names, dtype=object), S),
        "projects": np.tile(np.bincount(dep_index, minlength=n_dep), S).astype(np.int64),
        "budget": np.tile(dep_budget, S),
        "next_budget": dep_next.ravel(),
        "moved": dep_moved.ravel(),
    })

    per_grade = pd.DataFrame(
        [np.bincount(g, minlength=len(labels)) for g in grade_arr],
        columns=[f"projects_{c}" for c in labels.codes])
    rho_ref = correlations[correlations["scheme_b"] == reference].set_index("scheme_a")
    summary = pd.DataFrame({
        "scheme": list(names),
        "description": [specs[n].describe() for n in names],
        "mean_score": score_arr.mean(axis=1),
    })
    summary = pd.concat([summary, per_grade], axis=1)
    summary["changed_grade"] = (grade_arr != grade_arr[ref]).sum(axis=1)
    summary["spearman_vs_reference"] = rho_ref.loc[list(names), "spearman"].to_numpy()
    summary["kendall_vs_reference"] = rho_ref.loc[list(names), "kendall"].to_numpy()
    summary["next_budget"] = next_arr.sum(axis=1)
    summary["departments_gaining"] = (dep_moved > 0).sum(axis=1)
    summary["departments_losing"] = (dep_moved < 0).sum(axis=1)
    summary["money_gained"] = np.clip(dep_moved, 0, None).sum(axis=1)
    summary["money_lost"] = np.clip(-dep_moved, 0, None).sum(axis=1)
    summary["net_change"] = summary["next_budget"] - summary["next_budget"].iloc[ref]

    return Comparison(
        scenario=scenario.name, reference=reference, schemes=names, specs=specs,
        grade_codes=tuple(labels.codes), grade_zh=tuple(labels.zh), projects=projects,
        weights=weights, correlations=correlations, transitions=transitions,
        departments=departments, summary=summary)
