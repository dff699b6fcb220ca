"""The one year step and the evaluation cycle's open questions, decided.

Every path runs the same year (:func:`perfsim.run.step.step`): the Monte Carlo and the
sensitivity analysis agree to the yuan with every noise source on when they see the same
draws. And the semantics docs/tasks/cycle.md states, each by hand: coverage wins over the floor and
the cap; who shares a redistributed pool and by which budget; when the unrectified streak
resets.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.kernel.evaluation import draw_year
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import linkage_from_dict
from perfsim.kernel.year import CycleState, evaluate_year
from perfsim.model.portfolio import portfolio_from_frame
from perfsim.run import sensitivity
from perfsim.run.simulate import block_stream, metric_names, recheck_pool, simulate

EXCELLENT, GOOD, FAIR, POOR = 0, 1, 2, 3


# --- coverage wins over the floor and the cap -------------------------------------------------

def constructed(scores, budgets, linkage) -> perfsim.Scenario:
    n = len(scores)
    pf = portfolio_from_frame(pd.DataFrame({
        "project_id": [f"P{i + 1}" for i in range(n)], "department": ["d"] * n,
        "budget": budgets, "score": scores}))
    return perfsim.Scenario(name="constructed", portfolio=pf,
                            linkage=linkage_from_dict(linkage))


@pytest.mark.parametrize(("bound", "multiplier", "evaluated_after"),
                         [({"cap": 0.9}, 1.2, 0.9), ({"floor": 0.8}, 0.5, 0.8)])
def test_a_project_not_evaluated_keeps_its_budget_whatever_the_floor_and_cap(
        bound, multiplier, evaluated_after):
    # two projects with the same score; only the 2 M one reaches the coverage line of 1 M
    sc = constructed([95.0, 95.0] if multiplier > 1 else [50.0, 50.0],
                     [2_000_000.0, 500_000.0],
                     {"rule": "grade_table", **bound,
                      "multipliers": {"excellent": multiplier, "good": 1, "fair": 1,
                                      "poor": multiplier},
                      "coverage": {"min_budget": 1_000_000}})
    alloc = sc.run_year().allocations
    assert alloc["evaluated"].tolist() == [True, False]
    assert alloc["next_budget"].tolist() == [2_000_000.0 * evaluated_after, 500_000.0]


# --- who shares a redistributed pool, and by which budget ---------------------------------------

def test_the_pool_goes_to_evaluated_recipients_without_failed_preconditions_by_budget():
    link = linkage_from_dict({
        "rule": "grade_table", "pool": "redistribute", "recipients": ["excellent", "good"],
        "multipliers": {"excellent": 1.1, "good": 1.0, "fair": 1.0, "poor": 0.5},
        "preconditions": [{"flag": "has_targets", "consequence": "cut", "share": 0.2}]})
    # A 优 (×1.1), B 良 (×1.0), C 优 failing a precondition with a cut (×1.1 × 0.8),
    # D 优 but not evaluated (×1), E 差 (×0.5): the pool is what E loses less what A gains
    budget = np.array([1000.0, 1000.0, 1000.0, 1000.0, 4000.0])
    grade = np.array([[EXCELLENT, GOOD, EXCELLENT, EXCELLENT, POOR]])
    flags = {"has_targets": np.array([True, True, False, True, True])}
    exempt = np.array([[False, False, False, True, False]])
    res = link.apply(budget, np.zeros(grade.shape), grade, flags, exempt=exempt)
    pool = 8000.0 - (1100.0 + 1000.0 + 880.0 + 1000.0 + 2000.0)   # 2,020 yuan
    # only A and B share it, half each: their budgets are equal, their multipliers are not
    np.testing.assert_allclose(res.reward[0], [pool / 2, pool / 2, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(res.next_budget[0], [2110.0, 2010.0, 880.0, 1000.0, 2000.0])
    assert res.next_budget.sum() == pytest.approx(budget.sum())


def test_the_pool_is_shared_by_the_budget_after_the_unrectified_recovery():
    # rectification of 良 and 优 projects (grades fed back), 20% recovered from the
    # unrectified: A (优, unrectified) shares by 800 yuan, B (优, rectified) by 1,000
    link = linkage_from_dict({
        "rule": "grade_table", "pool": "redistribute",
        "multipliers": {"excellent": 1.0, "good": 1.0, "fair": 1.0, "poor": 0.0},
        "rectification": {"grades": ["excellent"], "probability": 0.5, "recover": 0.2}})
    o = evaluate_year(np.array([[95.0, 95.0, 40.0]]), np.array([1000.0, 1000.0, 900.0]),
                      Grading(), link, rectify_draw=np.array([[0.9, 0.1, 0.5]]))
    assert o.rectified[0].tolist() == [False, True, False]
    # pool: A's recovered 200 goes to the treasury (recovered before the rule); the 差 900 is
    # shared 800 : 1000 between A and B
    np.testing.assert_allclose(o.link.reward[0], [400.0, 500.0, 0.0])
    np.testing.assert_allclose(o.next_budget[0], [1200.0, 1500.0, 0.0])


# --- the unrectified streak ---------------------------------------------------------------------

def chain(link, draws, score=40.0):
    """Years of one 差 project fed back each year, rectified where the year's draw is below
    the probability (0.5); returns each year's cancelled yuan and its streak after the year."""
    state, out = CycleState(), []
    for u in draws:
        o = evaluate_year(np.array([[score]]), np.array([1000.0]), Grading(), link,
                          rectify_draw=np.array([[u]]), state=state)
        state = o.after
        out.append((float(o.cancelled[0, 0]), int(state.unrectified_run[0, 0])))
    return out


JINAN = {"rule": "grade_table", "multipliers": {"excellent": 1, "good": 1, "fair": 1,
                                                  "poor": 0.8},
         "rectification": {"grades": ["poor"], "probability": 0.5, "cancel_after": 2}}


def test_a_rectification_resets_the_unrectified_streak():
    # unrectified, rectified, unrectified, unrectified: only the fourth year cancels
    years = chain(linkage_from_dict(JINAN), [0.9, 0.1, 0.9, 0.9])
    assert years == [(0.0, 1), (0.0, 0), (0.0, 1), (1000.0, 2)]


def test_a_year_not_fed_back_resets_the_unrectified_streak():
    link = linkage_from_dict(JINAN)
    state, cancelled = CycleState(), []
    for score, u in [(40.0, 0.9), (85.0, 0.9), (40.0, 0.9)]:   # 差, 良 (not fed back), 差
        o = evaluate_year(np.array([[score]]), np.array([1000.0]), Grading(), link,
                          rectify_draw=np.array([[u]]), state=state)
        state = o.after
        cancelled.append(float(o.cancelled[0, 0]))
    assert cancelled == [0.0, 0.0, 0.0]


# --- the Monte Carlo and the sensitivity agree with noise on ------------------------------------

BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def on_the_monte_carlos_draws(model, r):
    """The sensitivity model with its common random numbers replaced by the Monte Carlo's
    year-1 draws of block 0 (no design uncertainty, one year: no entrants), drawn in the
    Monte Carlo's order from its streams: inflation, the entrants' picks, the year's draws
    with the re-check pool, the bonus leaves' stream."""
    inputs = model.inputs
    s = inputs.settings
    P, I = inputs.n_projects, inputs.measure.points.size  # noqa: E741
    g = block_stream(inputs.seed, 0)
    z_infl = g.standard_normal((r, P))
    g.integers(0, P, (r, 0))
    checks = s.check_share > 0 or s.check_days_budget > 0 or s.check_funds_share > 0
    most = recheck_pool(inputs, np.ones((r, P), dtype=bool), 0)
    draws = draw_year([(g, r)], P, I, len(s.checkpoints), recheck=False,
                      pool=([(block_stream(inputs.seed, 0, 1), r)], most) if checks else None)
    bonus = None
    if inputs.space is not None and inputs.space.bonus_rules:
        bonus = block_stream(inputs.seed, 0, 2).standard_normal(
            (r, P, len(inputs.space.bonus_rules)))
    return dataclasses.replace(model, draws=draws, z_infl=z_infl, z_bonus=bonus)


#: every random source of a year on: leaf dispersion and self-evaluation noise (the
#: defaults), inflation with a spread, spot checks with re-check noise, monitoring at two
#: checkpoints with recoveries (and, with ``targets``, the targets half of dual monitoring)
NOISY = dict(inflation_mean=0.03, inflation_sd=0.02, check_share=0.3, recheck_noise=0.04,
             checkpoints=((0.5, 0.45), (0.75, 0.7)), execution_sd=0.15, recovery_share=1.0)


@pytest.mark.parametrize("targets", [0.0, 0.8], ids=["pace", "targets"])
@pytest.mark.parametrize("scenario", BUNDLED)
def test_the_monte_carlo_and_the_sensitivity_agree_with_noise_on_for_the_same_draws(
        scenario, targets):
    sc = perfsim.load(SCENARIOS / f"{scenario}.yaml")
    r = 3
    settings = dataclasses.replace(sc.settings, replications=r, years=1, ratio_range=None,
                                   cutoff_jitter=0.0, weight_uncertainty="none",
                                   target_minimum=targets, **NOISY,
                                   # Weifang's year-end clearing needs the targets half
                                   year_end_clearing=sc.settings.year_end_clearing and targets > 0)
    names = metric_names(sc.grading)
    mc = simulate(sc, settings, engine="numpy", progress=False).replications
    path = "simulation.spot_check.share"
    model = on_the_monte_carlos_draws(
        sensitivity._prepare(sc, [path], names, None, settings, r), r)
    # two samples, both at the scenario's own value: each is the Monte Carlo's year 1
    y = sensitivity._evaluate_chunk(model, np.full((2, 1), settings.check_share))
    expected = mc[names].to_numpy().reshape(1, r, -1).mean(axis=1)[0]
    np.testing.assert_array_equal(y[0], expected)
    np.testing.assert_array_equal(y[1], expected)
    # and the noise is on: the replications differ and the monitoring recovers money
    assert len(mc[names].drop_duplicates()) == r and mc["recovered"].gt(0).any()


# --- the year is wired once -----------------------------------------------------------------------

def test_the_process_chain_is_called_in_the_year_step_module_only():
    root = Path(perfsim.__file__).parent
    calls: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in ("evaluate_process", "evaluate_year"):
                    calls.setdefault(name, set()).add(path.relative_to(root).as_posix())
    assert calls["evaluate_process"] == {"run/step.py"}
    # the benchmark times the kernel alone, on scores it makes itself
    assert calls["evaluate_year"] == {"run/step.py", "bench.py"}
