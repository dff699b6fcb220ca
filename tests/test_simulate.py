"""The Monte Carlo engine (perfsim.run.simulate): settings and their errors, chunk-, engine- and
cluster-proof reproducibility, the decision-quality metrics on cases worked out by hand, the
multi-year loop (carry-over of budgets, cancellation, escalation, entrants, monitoring) and the
``perfsim run --years/--replications`` command line.

Hand-computed cases use a four-project, score-only portfolio with every source of noise
switched off, so that each year's scores equal 100 × latent performance θ:

    project  budget  score  grade (90/80/60)  Liupanshui 15%
    P1        1000     95   优                 kept  1000
    P2        2000     70   中                 ×0.85 1700
    P3        4000     50   差                 cancelled
    P4        3000     85   良                 kept  3000
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS, one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.io import MARKER
from perfsim.kernel import metrics
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import linkage_from_dict
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import generate_portfolio, portfolio_from_frame
from perfsim.model.scenario import Scenario
from perfsim.model.settings import MONITORING_DEFAULT, Settings, settings_from_dict
from perfsim.model.streams import BLOCK
from perfsim.run import simulate as simulate_module
from perfsim.run.simulate import block_sizes, metric_names, simulate

# every random draw that could move a score, switched off; θ persists unchanged
EXACT = dict(persistence=1.0, innovation_sd=0.0, leaf_dispersion=0.0, measurement_noise=0.0,
             recheck_noise=0.0, execution_sd=0.0)
# every feature at once, to check reproducibility on the full kernel
RICH = dict(years=3, replications=100, inflation_mean=0.03, inflation_sd=0.02,
            inflation_by_department={"D01": 0.08}, check_share=0.25,
            check_selection="highest_score", gap_rule=True, inflation_penalty=2.0,
            checkpoints=MONITORING_DEFAULT, entry_rate=0.05, escalation_years=2,
            weight_uncertainty="dirichlet", cutoff_jitter=2.0, elasticity=0.1,
            ratio_range=(0.10, 0.20))
NO_CUTS = {"rule": "grade_table",
           "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 1}}
SOFT = {"rule": "grade_table",   # 差 is halved, never cancelled by the table
        "multipliers": {"excellent": 1, "good": 1, "fair": 0.85, "poor": 0.5}}


@pytest.fixture(scope="module")
def small() -> Scenario:
    """200 generated projects in 10 departments, measured on the tiny 5-leaf system."""
    system = load_indicator_system(DATA / "tiny_system.yaml")
    pf = generate_portfolio(system, seed=1, n_projects=200, n_departments=10)
    return Scenario(name="small", portfolio=pf, system=system, seed=3)


def four(scores=(95, 70, 50, 85), budgets=(1000, 2000, 4000, 3000), linkage=None,
         seed: int = 0) -> Scenario:
    frame = pd.DataFrame({"project_id": ["P1", "P2", "P3", "P4"],
                          "department": ["D1", "D1", "D2", "D2"],
                          "budget": list(budgets), "score": list(scores)})
    return Scenario(name="four", portfolio=portfolio_from_frame(frame), grading=Grading(),
                    linkage=linkage_from_dict(linkage), seed=seed)


def by_year(result, column: str) -> list[float]:
    """The column of replication 0, year by year."""
    reps = result.replications
    return reps.loc[reps["replication"] == 0, column].tolist()


# --- settings and bad input ----------------------------------------------------------------


@pytest.mark.parametrize(("changes", "named"), [
    ({"measurement_noise": -0.1}, "self_evaluation.noise"),
    ({"innovation_sd": -0.01}, "performance.innovation_sd"),
    ({"inflation_sd": -1.0}, "self_evaluation.inflation_sd"),
    ({"recheck_noise": -0.1}, "spot_check.noise"),
    ({"execution_sd": -0.1}, "monitoring.execution_sd"),
    ({"measurement_noise": float("nan")}, "self_evaluation.noise"),
    ({"check_share": 1.5}, "spot_check.share"),
    ({"check_share": -0.1}, "spot_check.share"),
    ({"persistence": 1.2}, "performance.persistence"),
    ({"recovery_share": -0.5}, "monitoring.recovery_share"),
    ({"entry_rate": 2.0}, "dynamics.entry_rate"),
    ({"replications": 0}, "replications"),
    ({"years": 0}, "years"),
    ({"chunk": 0}, "chunk"),
    ({"years": 2.5}, "years"),
    ({"replications": True}, "replications"),
    ({"escalation_years": -1}, "dynamics.escalation_years"),
    ({"escalation_years": 1.5}, "dynamics.escalation_years"),
    ({"escalation_years": "two"}, "dynamics.escalation_years"),
    ({"check_selection": "everything"}, "spot_check.selection"),
    ({"weight_uncertainty": "wild"}, "uncertainty.weights"),
    ({"gap_step": 0.0}, "spot_check.step"),
    ({"checkpoints": ((0.5, 1.5),)}, "monitoring.checkpoints[0]"),
    ({"ratio_range": (0.2, 0.1)}, "uncertainty.ratio"),
])
def test_bad_settings_are_one_line_errors(changes, named):
    with pytest.raises(InputError) as err:
        Settings(**changes)
    message = str(err.value)
    assert "\n" not in message
    assert f"'simulation.{named}'" in message


def test_settings_from_the_yaml_layout():
    s = settings_from_dict({
        "years": 3, "replications": 50,
        "self_evaluation": {"noise": 0.01, "inflation_mean": 0.04,
                            "by_department": {"D1": 0.1}},
        "spot_check": {"share": 0.3, "selection": "largest_budget", "gap_rule": True},
        "monitoring": {"checkpoints": "default", "recovery_share": 0.5},
        "dynamics": {"entry_rate": 0.02, "escalation_years": 2},
        "uncertainty": {"ratio": [0.1, 0.2]},
    }, replications=80, chunk=None)
    assert (s.years, s.replications, s.chunk) == (3, 80, 128)  # override wins; None does not
    assert (s.measurement_noise, s.inflation_mean) == (0.01, 0.04)
    assert dict(s.inflation_by_department) == {"D1": 0.1}
    assert (s.check_share, s.check_selection, s.gap_rule) == (0.3, "largest_budget", True)
    assert s.checkpoints == ((0.5, 0.3), (0.75, 0.5))   # January–June 30%, –September 50%
    assert (s.recovery_share, s.entry_rate, s.escalation_years) == (0.5, 0.02, 2)
    assert s.ratio_range == (0.1, 0.2)


@pytest.mark.parametrize(("spec", "named"), [
    ({"spot_check": {"shares": 0.2}}, "spot_check.shares"),
    ({"montoring": {}}, "montoring"),
    ({"spot_check": 0.2}, "spot_check"),
    ({"spot_check": {"gap_rule": "yes"}}, "spot_check.gap_rule"),
    ({"monitoring": {"checkpoints": [0.5, 0.3]}}, "monitoring.checkpoints"),
])
def test_bad_simulation_blocks(spec, named):
    with pytest.raises(InputError) as err:
        settings_from_dict(spec)
    assert f"'simulation.{named}'" in str(err.value) and "\n" not in str(err.value)


def test_bad_inputs_found_against_the_scenario(small):
    with pytest.raises(InputError, match="D99.*no such department"):
        simulate(small, Settings(replications=2, inflation_by_department={"D99": 0.1}))
    curve = small.replace(linkage=linkage_from_dict(
        {"rule": "score_curve", "points": [[0, 0], [100, 1]]}))
    with pytest.raises(InputError, match="liupanshui"):
        simulate(curve, Settings(replications=2, ratio_range=(0.1, 0.2)))
    with pytest.raises(InputError, match="engine"):
        simulate(small, Settings(replications=2), engine="spark")


def test_blocks():
    assert block_sizes(100) == [32, 32, 32, 4]
    assert block_sizes(64) == [32, 32]
    assert block_sizes(5) == [5]


# --- reproducibility: chunks, engines, clusters --------------------------------------------


@pytest.fixture(scope="module")
def rich_numpy(small):
    return simulate(small, Settings(chunk=32, **RICH))


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.replications, b.replications, check_exact=True)
    pd.testing.assert_frame_equal(a.projects, b.projects, check_exact=True)
    assert json.dumps(a.summary["metrics"]) == json.dumps(b.summary["metrics"])


@pytest.mark.parametrize("chunk", [64, 100])
def test_same_seed_same_results_whatever_the_chunk(small, rich_numpy, chunk):
    # 100 replications = blocks of 32, 32, 32, 4: chunks of 1, 2 and 4 blocks
    assert_same(rich_numpy, simulate(small, Settings(chunk=chunk, **RICH)))


@pytest.mark.parametrize("room, expected", [(1, 1), (2, 1), (3, 2), (10, 4)])
def test_a_large_portfolio_runs_fewer_replications_per_chunk(small, rich_numpy, monkeypatch,
                                                              room, expected):
    """Chunks shrink, whole blocks at a time, until one (rows, slots, leaves) array fits the
    room given (in bytes of one block's array, set here; one block at least), and the numbers
    stay those of any other chunk."""
    settings = Settings(chunk=128, **RICH)
    inputs = simulate_module.build_inputs(small, settings)
    one_block = 8 * BLOCK * inputs.n_slots * 5          # the tiny system: 5 leaves
    monkeypatch.setattr(simulate_module, "CHUNK_LEAF_BYTES", room * one_block - (room > 1))
    # 100 replications: blocks of 32, 32, 32, 4, four blocks per chunk of 128
    sizes = [len(c) for c in simulate_module.chunks(inputs)]
    assert sizes == [min(expected, 4 - k) for k in range(0, 4, expected)]
    assert_same(rich_numpy, simulate(small, settings))


def test_the_seed_matters(small, rich_numpy):
    other = simulate(small.replace(seed=4), Settings(chunk=32, **RICH))
    assert not np.array_equal(other.replications["misgrading"],
                              rich_numpy.replications["misgrading"])


def test_more_replications_leave_the_earlier_blocks_unchanged(small, rich_numpy):
    fewer = simulate(small, Settings(chunk=64, **{**RICH, "replications": 64}))
    head = rich_numpy.replications[rich_numpy.replications["replication"] < 64]
    pd.testing.assert_frame_equal(fewer.replications, head.reset_index(drop=True),
                                  check_exact=True)


def test_processes_engine_equals_numpy(small, rich_numpy):
    assert_same(rich_numpy, simulate(small, Settings(chunk=32, **RICH), engine="processes",
                                     workers=2))


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    # threads in this process, but a real scheduler reached over TCP (the engine's own
    # LocalCluster, with worker processes, is tested below)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_engine_on_a_running_cluster_equals_numpy(small, rich_numpy, scheduler):
    assert scheduler.startswith("tcp://")
    assert_same(rich_numpy, simulate(small, Settings(chunk=32, **RICH), engine="dask",
                                     scheduler=scheduler))


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # the fixture's scheduler
def test_dask_engine_with_its_own_local_cluster_equals_numpy(small, rich_numpy):
    before = dict(os.environ)
    assert_same(rich_numpy, simulate(small, Settings(chunk=64, **RICH), engine="dask",
                                     workers=2))
    # the cluster's settings for its workers (MALLOC_TRIM_THRESHOLD_=65536, which doubles
    # the CPU time of every process started later, OMP_NUM_THREADS, …) do not stay behind
    assert dict(os.environ) == before


@pytest.mark.parametrize("address", ["notanaddress", "xyz://host:1"])
def test_malformed_scheduler_address(small, address):
    with pytest.raises(InputError, match="not a Dask scheduler address") as err:
        simulate(small, Settings(replications=2), engine="dask", scheduler=address)
    assert "\n" not in str(err.value) and "'scheduler'" in str(err.value)


# --- the results' shape and accounting ------------------------------------------------------


def test_result_tables(small, rich_numpy):
    reps, projects, summary = (rich_numpy.replications, rich_numpy.projects,
                               rich_numpy.summary)
    assert len(reps) == 100 * 3
    assert (reps.groupby("replication")["year"].apply(tuple) == (1, 2, 3)).all()
    assert set(metric_names(small.grading)) <= set(reps.columns)
    counts = reps[["count_excellent", "count_good", "count_fair", "count_poor"]].sum(axis=1)
    assert (counts == reps["projects"]).all()
    assert len(projects) == 200
    assert projects["project_id"].tolist() == small.portfolio.ids.tolist()
    assert projects["p_cut"].between(0, 1).all()
    assert (projects["p_wrong_cut"] <= projects["p_cut"]).all()
    assert (summary["replications"], summary["years"], summary["projects"]) == (100, 3, 200)


def test_summary_holds_means_and_5_95_intervals(rich_numpy):
    reps = rich_numpy.replications
    for name in ("misgrading", "savings", "gini", "inflation_payoff", "count_poor"):
        for entry in rich_numpy.summary["metrics"][name]:
            v = reps.loc[reps["year"] == entry["year"], name].to_numpy()
            v = v[np.isfinite(v)]
            assert entry["mean"] == pytest.approx(v.mean())
            assert entry["p05"] == pytest.approx(np.percentile(v, 5))
            assert entry["p95"] == pytest.approx(np.percentile(v, 95))
            assert entry["p05"] <= entry["mean"] <= entry["p95"]


def test_money_is_accounted_for(rich_numpy):
    r = rich_numpy.replications
    # budget − next budget = recovered idle funds + cuts + cancellations − rewards
    np.testing.assert_allclose(r["savings"], r["recovered"] + r["cut_total"] + r["cancelled_total"]
                               - r["rewarded_total"], rtol=1e-9)


# --- decision quality -----------------------------------------------------------------------


def test_no_noise_and_no_inflation_means_no_misgrading(small):
    # latent performance still moves (AR(1) innovations, leaf dispersion) and the portfolio
    # churns, but self-evaluations and re-checks are exact
    s = Settings(years=3, replications=64, measurement_noise=0.0, recheck_noise=0.0,
                 check_share=0.3, gap_rule=True, entry_rate=0.05, escalation_years=2,
                 checkpoints=MONITORING_DEFAULT)
    r = simulate(small, s).replications
    assert (r["misgrading"] == 0).all()
    # truly good projects are never cut and truly poor ones keep nothing (Liupanshui)
    assert (r["wrong_cuts"] == 0).all() and (r["kept_by_poor"] == 0).all()
    np.testing.assert_allclose(r["rank_stability"], 1.0)
    # the same run with measurement noise misgrades
    noisy = simulate(small, dataclasses.replace(s, measurement_noise=0.05)).replications
    assert (noisy["misgrading"] > 0).all()


def test_inflation_pays_without_spot_checks(small):
    r = simulate(small, Settings(years=2, replications=64, inflation_mean=0.05)).replications
    assert (r["inflation_points"] > 0).all()
    assert (r["inflation_payoff"] > 0).all()


def test_inflation_does_not_pay_under_full_rechecks_and_the_gap_rule(small):
    s = Settings(years=2, replications=64, inflation_mean=0.15, check_share=1.0,
                 gap_rule=True)
    r = simulate(small, s).replications
    assert (r["inflation_payoff"] <= 0).all()
    assert r["inflation_payoff"].mean() < 0


def test_inflation_payoff_by_hand():
    # θ = 0.95, 0.70, 0.50, 0.81; inflation 0.12 → self-scores 100 (clipped), 82, 62, 93:
    # inflation points 5 + 12 + 12 + 12 = 41.
    sc = four(scores=(95, 70, 50, 81))
    base = dict(replications=3, inflation_mean=0.12, **EXACT)
    # no spot checks: inflated 优 良 中 优 → 1000 + 2000 + 3400 + 3000 = 9400;
    # honest 95 优, 70 中, 50 差, 81 良 → 1000 + 1700 + 0 + 3000 = 5700
    r = simulate(sc, Settings(**base)).replications
    assert r["inflation_points"].tolist() == pytest.approx([41.0] * 3)
    assert r["inflation_payoff"].tolist() == pytest.approx([3700 / 41] * 3)
    assert r["misgrading"].tolist() == pytest.approx([0.75] * 3)   # P2, P3, P4
    assert r["kept_by_poor"].tolist() == pytest.approx([3400.0] * 3)  # truly 差 P3 kept 3400
    # every project re-checked (the re-check replaces the self-score) with the Wenzhou rule:
    # gaps 5, 12, 12, 12 → 95, 70 − 2 = 68 中, 50 − 2 = 48 差, 81 − 2 = 79 中
    # → 1000 + 1700 + 0 + 2550 = 5250; honest: no gaps → 5700; payoff −450 / 41
    r = simulate(sc, Settings(check_share=1.0, gap_rule=True, **base)).replications
    assert r["inflation_payoff"].tolist() == pytest.approx([-450 / 41] * 3)
    assert r["misgrading"].tolist() == pytest.approx([0.25] * 3)   # P4 良 → 中
    assert r["wrong_cuts"].tolist() == pytest.approx([450.0] * 3)  # truly 良 P4 cut 15%
    assert r["next_total"].tolist() == pytest.approx([5250.0] * 3)


def test_honest_counterfactual_faces_the_escalation_rule_too():
    # 差 halved by the table (SOFT); inflation 0.12, no spot checks. Inflated:
    # 优 良 中 优 → 1000 + 2000 + 3400 + 3000 = 9400.
    sc = four(scores=(95, 70, 50, 81), linkage=SOFT)
    base = dict(replications=2, inflation_mean=0.12, **EXACT)
    # honest, escalation off: P3 差 halved → 1000 + 1700 + 2000 + 3000 = 7700; gain 1700
    r = simulate(sc, Settings(**base)).replications
    assert r["inflation_payoff"].tolist() == pytest.approx([1700 / 41] * 2)
    # honest, first 差 cancels: P3 → 0 → 5700; gain 3700 (inflating dodged the cancellation)
    r = simulate(sc, Settings(escalation_years=1, **base)).replications
    assert r["inflation_payoff"].tolist() == pytest.approx([3700 / 41] * 2)


# --- the multi-year loop --------------------------------------------------------------------


def test_cancelled_projects_stay_out_and_budgets_carry_over():
    r = simulate(four(), Settings(years=4, replications=2, **EXACT))
    # year 1: P3 (差) cancelled; P2 (中) 2000 → 1700; then P2 1700 → 1445 → 1228.25 → 1044.0125
    assert by_year(r, "projects") == [4, 3, 3, 3]
    assert by_year(r, "count_poor") == [1, 0, 0, 0]
    assert by_year(r, "cancelled_total") == pytest.approx([4000, 0, 0, 0])
    assert by_year(r, "budget_total") == pytest.approx([10000, 5700, 5445, 5228.25])
    assert by_year(r, "next_total") == pytest.approx([5700, 5445, 5228.25, 5044.0125])


def test_allocations_become_next_years_budgets(small):
    r = simulate(small, Settings(years=4, replications=40)).replications
    wide = {c: r.pivot(index="replication", columns="year", values=c)
            for c in ("projects", "budget_total", "next_total")}
    # no entrants: the portfolio only shrinks, and year t+1 starts from year t's allocations
    assert (wide["projects"].diff(axis=1).iloc[:, 1:] <= 0).all().all()
    assert (wide["projects"].iloc[:, -1] < 200).all()
    np.testing.assert_allclose(wide["budget_total"].iloc[:, 1:].to_numpy(),
                               wide["next_total"].iloc[:, :-1].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(("escalation", "active", "cancelled", "n_poor"), [
    # off: P3 is halved every year: 4000 → 2000 → 1000 → 500
    (0, [4, 4, 4, 4], [0, 0, 0, 0], [1, 1, 1, 1]),
    # the first 差 cancels
    (1, [4, 3, 3, 3], [4000, 0, 0, 0], [1, 0, 0, 0]),
    # year 1 差 (halved to 2000), year 2 差 again → cancelled (2000)
    (2, [4, 4, 3, 3], [0, 2000, 0, 0], [1, 1, 0, 0]),
    # third 差 in a row, year 3: 1000 cancelled
    (3, [4, 4, 4, 3], [0, 0, 1000, 0], [1, 1, 1, 0]),
])
def test_repeated_poor_grades_escalate_to_cancellation(escalation, active, cancelled, n_poor):
    r = simulate(four(linkage=SOFT),
                 Settings(years=4, replications=2, escalation_years=escalation, **EXACT))
    assert by_year(r, "projects") == active
    assert by_year(r, "cancelled_total") == pytest.approx(cancelled)
    assert by_year(r, "count_poor") == n_poor


def test_poor_run_resets_after_a_better_grade():
    # a perverse table that doubles 差 and halves 良, with performance responding to money
    # (elasticity 0.5): θ moves by ±0.5 × ln 2 = ±0.347 a year, so
    # P3: 0.50 差 → 0.85 良 → 0.50 差 → 0.85 良 and P4: 0.85 良 → 0.50 差 → 0.85 良 → 0.50 差;
    # nobody is 差 twice in a row
    table = {"rule": "grade_table",
             "multipliers": {"excellent": 1, "good": 0.5, "fair": 1, "poor": 2}}
    s = dict(years=4, replications=2, **{**EXACT, "elasticity": 0.5})
    r = simulate(four(linkage=table), Settings(escalation_years=2, **s))
    assert by_year(r, "count_poor") == [1, 1, 1, 1]
    assert by_year(r, "projects") == [4, 4, 4, 4]
    assert by_year(r, "cancelled_total") == [0, 0, 0, 0]
    # control: the first 差 cancels — P3 in year 1, P4 in year 2
    r = simulate(four(linkage=table), Settings(escalation_years=1, **s))
    assert by_year(r, "projects") == [4, 3, 2, 2]


def test_quotas_count_active_projects_only():
    # at most 50% 优. Year 1, 4 projects: floor(2) = 2 优 (P1 95, P2 92), P4 91 → 良, P3 50
    # 差 cancelled. Year 2, 3 projects left: floor(1.5) = 1 优 (P1); P2 → 良
    sc = four(scores=(95, 92, 50, 91)).replace(grading=Grading(quotas={"excellent": 0.5}))
    r = simulate(sc, Settings(years=2, replications=1, **EXACT))
    assert by_year(r, "projects") == [4, 3]
    assert by_year(r, "count_excellent") == [2, 1]


@pytest.mark.parametrize(("rate", "active"), [
    (0.05, [200, 210, 220]),   # round(0.05 × 200) = 10 entrants a year after year 1
    (0.033, [200, 207, 214]),  # round(6.6) = 7
    (0.0, [200, 200, 200]),
])
def test_entrants(small, rate, active):
    sc = small.replace(linkage=linkage_from_dict(NO_CUTS))   # nobody leaves
    r = simulate(sc, Settings(years=3, replications=40, entry_rate=rate)).replications
    wide = r.pivot(index="replication", columns="year", values="projects")
    assert (wide == active).all().all()
    # the entrants bring budgets of their own (resampled from the portfolio)
    added = (r.loc[r["year"] == 2, "budget_total"].to_numpy()
             - r.loc[r["year"] == 1, "next_total"].to_numpy())
    assert (added > 0).all() if rate else np.allclose(added, 0)


def test_monitoring_recovers_idle_funds_only_when_a_minimum_is_missed():
    # June checkpoint, minimum 40%, pace tied to performance: execution = 0.5 × θ exactly:
    # P1 0.475, P2 0.35 (missed: 2000 × 0.15 = 300), P3 0.25 (missed: 4000 × 0.25 = 1000),
    # P4 0.425 → 1300 recovered. Linkage on what is left: P1 1000; P2 1700 × 0.85 = 1445
    # (cut 255); P3 3000 cancelled; P4 3000 → 5445; savings 10000 − 5445 = 4555
    r = simulate(four(), Settings(replications=2, checkpoints=((0.5, 0.4),),
                                  execution_pace="performance", **EXACT))
    assert by_year(r, "recovered") == pytest.approx([1300.0])
    assert by_year(r, "next_total") == pytest.approx([5445.0])
    assert by_year(r, "cut_total") == pytest.approx([255.0])
    assert by_year(r, "cancelled_total") == pytest.approx([3000.0])
    assert by_year(r, "savings") == pytest.approx([4555.0])
    # half of the idle funds: 150 + 500; P2 1850 × 0.85 = 1572.5 → 5572.5
    r = simulate(four(), Settings(replications=2, checkpoints=((0.5, 0.4),),
                                  recovery_share=0.5, execution_pace="performance", **EXACT))
    assert by_year(r, "recovered") == pytest.approx([650.0])
    assert by_year(r, "next_total") == pytest.approx([5572.5])
    # minimum 20%: nobody misses it (P3 executes 25%) → nothing recovered, as without
    # monitoring: 1000 + 1700 + 0 + 3000
    for cps in (((0.5, 0.2),), ()):
        r = simulate(four(), Settings(replications=2, checkpoints=cps,
                                      execution_pace="performance", **EXACT))
        assert by_year(r, "recovered") == [0.0]
        assert by_year(r, "next_total") == pytest.approx([5700.0])
    # on schedule (the default pace) every project has spent half its funds by June: 0.5 ≥ 0.4
    r = simulate(four(), Settings(replications=2, checkpoints=((0.5, 0.4),), **EXACT))
    assert by_year(r, "recovered") == [0.0]


# --- the command line -----------------------------------------------------------------------

SCENARIO_YAML = """\
name: mc
seed: 5
portfolio:
  generate: {{n_projects: 200, n_departments: 10}}
linkage: {{rule: liupanshui, ratio: 0.15}}
simulation:
{simulation}
"""
GOOD_SIMULATION = """\
  replications: 40
  chunk: 32
  self_evaluation: {noise: 0.05, inflation_mean: 0.02}
  spot_check: {share: 0.2, gap_rule: true}
  monitoring: {checkpoints: default}
  dynamics: {entry_rate: 0.05, escalation_years: 2}"""


def write_scenario(tmp_path, simulation: str = GOOD_SIMULATION):
    path = tmp_path / "mc.yaml"
    path.write_text(SCENARIO_YAML.format(simulation=simulation), encoding="utf-8")
    return path


def test_cli_monte_carlo_writes_three_files(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(write_scenario(tmp_path)), "--years", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "40 次重复 replications × 2 年 years" in printed and "misgrading rate" in printed
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "projects.csv",
                                                     "replications.csv", "summary.json"]
    reps = pd.read_csv(out / "replications.csv")
    assert len(reps) == 40 * 2 and sorted(reps["year"].unique()) == [1, 2]
    assert len(pd.read_csv(out / "projects.csv")) == 200
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["replications"], summary["years"]) == (40, 2)
    assert summary["settings"]["simulation.spot_check.share"] == 0.2
    for entry in summary["metrics"]["savings"]:
        v = reps.loc[reps["year"] == entry["year"], "savings"].to_numpy()
        mean, lo, hi = metrics.interval(v)
        assert (entry["mean"], entry["p05"], entry["p95"]) == pytest.approx((mean, lo, hi),
                                                                            rel=1e-6)
        assert lo < mean < hi


def test_cli_summary_is_strict_json(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(write_scenario(tmp_path, "  replications: 4")), "--years", "1",
                 "--out", str(out)]) == 0

    def no_constants(name):
        raise ValueError(f"not JSON: {name}")

    json.loads((out / "summary.json").read_text(encoding="utf-8"), parse_constant=no_constants)


def test_cli_runs_the_bundled_liupanshui_scenario(tmp_path):
    out = tmp_path / "lp"
    path = SCENARIOS / "liupanshui_2022.yaml"
    assert main(["run", str(path), "--replications", "4", "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "projects.csv")) == 3468


@pytest.mark.parametrize(("simulation", "named"), [
    ("  self_evaluation: {noise: -0.1}", "self_evaluation.noise"),
    ("  spot_check: {share: 1.5}", "spot_check.share"),
    ("  replications: 0", "replications"),
    ("  years: 0", "years"),
    ("  dynamics: {entry_rate: -0.1}", "dynamics.entry_rate"),
    ("  dynamics: {escalation_years: two}", "dynamics.escalation_years"),
    ("  monitoring: {recovery_share: 2}", "monitoring.recovery_share"),
    ("  performance: {innovation_sd: -1}", "performance.innovation_sd"),
])
def test_cli_bad_simulation_block(tmp_path, capsys, simulation, named):
    path = write_scenario(tmp_path, simulation)
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert f"'simulation.{named}'" in line and "mc.yaml" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("flag", ["--replications", "--years", "--chunk"])
def test_cli_zero_or_negative_replications_years_or_chunk(tmp_path, capsys, flag, value):
    code = main(["run", str(write_scenario(tmp_path)), flag, value, "--out",
                 str(tmp_path / "o")])
    assert code == 2
    assert f"{flag}: 必须 ≥ 1 / must be >= 1, got {value}" in one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_cli_unreachable_scheduler(tmp_path, capsys):
    path = write_scenario(tmp_path, "  replications: 4")
    code = main(["run", str(path), "--replications", "4", "--engine", "dask", "--scheduler",
                 "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")])
    assert code == 2
    line = one_error_line(capsys)
    assert "tcp://127.0.0.1:1" in line and "cannot reach the Dask scheduler" in line
    assert not (tmp_path / "o").exists()


def test_cli_scheduler_needs_the_dask_engine(tmp_path, capsys):
    path = write_scenario(tmp_path, "  replications: 4")
    assert main(["run", str(path), "--years", "1", "--engine", "numpy", "--scheduler",
                 "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")]) == 2
    assert "needs --engine dask" in one_error_line(capsys)
    # the automatic engine takes Dask when a scheduler is named: here none answers
    assert main(["run", str(path), "--years", "1", "--scheduler", "tcp://127.0.0.1:1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "cannot reach the Dask scheduler" in one_error_line(capsys)


def test_cli_dask_engine_on_a_running_cluster(tmp_path, scheduler):
    path = write_scenario(tmp_path)
    a, b = tmp_path / "numpy", tmp_path / "dask"
    assert main(["run", str(path), "--years", "2", "--out", str(a)]) == 0
    assert main(["run", str(path), "--years", "2", "--out", str(b), "--engine", "dask",
                 "--scheduler", scheduler, "--chunk", "64"]) == 0
    for name in ("replications.csv", "projects.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_cli_runs_monte_carlo_when_the_scenario_has_a_simulation_block(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(write_scenario(tmp_path, "  replications: 4")), "--out",
                 str(out)]) == 0
    assert (out / "replications.csv").exists() and not (out / "allocations.csv").exists()


def test_the_monte_carlo_scores_with_the_system_aggregation(small):
    # no noise: the truth is the observed portfolio, so each year-1 score is the one-year
    # score under the system's own aggregation, exactly; with leaf dispersion the weakest
    # link can only score lower than the weighted sum
    exact = settings_from_dict(None, replications=2, **EXACT)
    for method in ("weighted_sum", "geometric", "weakest_link", "ordinal_average"):
        sc = small.replace(system=dataclasses.replace(small.system, aggregation=method))
        got = simulate(sc, exact, progress=False).projects["mean_score"].to_numpy()
        np.testing.assert_array_equal(got, sc.scores())
    spread = dataclasses.replace(exact, leaf_dispersion=0.1)
    wsum = simulate(small, spread, progress=False).projects["mean_score"]
    weak = simulate(small.replace(system=dataclasses.replace(
        small.system, aggregation="weakest_link")), spread, progress=False).projects["mean_score"]
    assert (weak <= wsum + 1e-9).all() and (weak < wsum - 1e-6).mean() > 0.9


def test_weight_uncertainty_needs_the_weighted_sum(small):
    sc = small.replace(system=dataclasses.replace(small.system, aggregation="geometric"))
    with pytest.raises(InputError, match="uncertainty.weights"):
        simulate(sc, settings_from_dict(None, replications=2, weight_uncertainty="dirichlet"))


def test_auto_engine_takes_a_pool_only_for_large_work_on_enough_cores(small):
    from perfsim.run.simulate import AUTO_CELLS, auto_engine, build_inputs

    def inputs(replications, years=1):
        return build_inputs(small, Settings(replications=replications, years=years))

    # 200 projects: the threshold needs AUTO_CELLS / 200 replication-years
    big = inputs(AUTO_CELLS // 200 // 5 + 1, years=5)
    assert big.n_slots * big.settings.replications * 5 >= AUTO_CELLS
    assert auto_engine(big, n_chunks=8, cores=4) == "processes"
    assert auto_engine(big, n_chunks=8, cores=2) == "numpy"
    assert auto_engine(big, n_chunks=1, cores=8) == "numpy"
    assert auto_engine(inputs(64), n_chunks=1, cores=8) == "numpy"
    assert auto_engine(inputs(64), n_chunks=1, scheduler="tcp://127.0.0.1:1") == "dask"


def test_checks_near_the_cut_lines_cut_the_inflation_payoff_more_than_top_scores():
    """Inflation pays at the 80 and 60 lines, where the top self-scorers are not: at the same
    check share, checks just over the lines leave units less to gain per inflated point."""
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    base = {"simulation.self_evaluation.inflation_mean": 0.03,
            "simulation.self_evaluation.noise": 0.02, "simulation.spot_check.share": 0.2,
            "simulation.spot_check.inflation_penalty": 5.0, "simulation.spot_check.gap": 2.0}
    payoff = {}
    for selection in ("highest_score", "near_cutoffs"):
        mc = sc.set({**base, "simulation.spot_check.selection": selection}).simulate(
            replications=64, years=1)
        payoff[selection] = mc.replications["inflation_payoff"].to_numpy()
    assert payoff["near_cutoffs"].mean() < 0.5 * payoff["highest_score"].mean()


def test_the_observed_sample_is_the_first_replication_whatever_the_chunking():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set({
        "simulation.self_evaluation.inflation_mean": 0.03, "simulation.spot_check.share": 0.3})
    a = sc.simulate(replications=64, years=1, chunk=32).sample
    b = sc.simulate(replications=64, years=1, chunk=64, engine="processes", workers=2).sample
    pd.testing.assert_frame_equal(a, b)
    # a re-check score exists exactly where the project was checked: 30% of 3,468 = 1,040
    assert a["checked"].sum() == round(0.3 * 3468)
    assert a["recheck_score"].notna().equals(a["checked"])


def test_without_noise_the_sample_is_the_portfolio_as_run_for_one_year():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    sample = sc.simulate(replications=2, years=1, noise=False).sample
    year = sc.run_year().allocations
    assert (sample["self_score"].to_numpy() == year["score"].to_numpy()).all()
    assert (sample["final_score"].to_numpy() == year["score"].to_numpy()).all()
    assert (sample["grade"].to_numpy() == year["grade"].to_numpy()).all()
    assert not sample["checked"].any() and sample["recheck_score"].isna().all()


def test_a_risky_department_is_checked_first():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    dep = "D475"   # 34 projects of 3,468: well within 5% of checks
    sample = sc.set({"simulation.spot_check.share": 0.05,
                     "simulation.spot_check.selection": "risk",
                     "simulation.spot_check.risk_departments": {dep: 1e9}}).simulate(
        replications=2, years=1).sample
    mine = sample["department"] == dep
    assert sample.loc[mine, "checked"].all()
    assert sample["checked"].sum() == round(0.05 * 3468)


@pytest.mark.parametrize(("block", "fragment"), [
    ({"selection": "mix"}, "spot_check.mix"),
    ({"selection": "mix", "mix": {"random": 0.5, "loudest": 0.5}}, "spot_check.mix.loudest"),
    ({"selection": "mix", "mix": {"random": 0.5, "near_cutoffs": 0.4}}, "add up to 1"),
    ({"risk_departments": {"D1": 0}}, "spot_check.risk_departments.D1"),
    ({"risk_history": -1}, "spot_check.risk_history"),
])
def test_bad_mix_and_risk_settings_are_one_line_errors(block, fragment):
    with pytest.raises(InputError, match=fragment) as err:
        settings_from_dict({"spot_check": block})
    assert "\n" not in str(err.value)


def test_checks_weighted_by_history_return_to_projects_found_inflated():
    """Risk checks raised for projects found inflated before: year 1 (no history yet) is the
    plain risk selection to the yuan; in year 2 the persistent inflators found in year 1 are
    checked again, so inflating pays less than when history is ignored."""
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set({
        "simulation.self_evaluation.inflation_mean": 0.02,
        "simulation.self_evaluation.inflation_sd": 0.03,
        "simulation.spot_check.share": 0.1, "simulation.spot_check.selection": "risk",
        "simulation.spot_check.gap": 3.0, "simulation.spot_check.inflation_penalty": 10.0})
    plain, history = (sc.set({"simulation.spot_check.risk_history": h}).simulate(
        replications=32, years=2).replications for h in (0.0, 1e6))
    first = plain["year"] == 1
    pd.testing.assert_frame_equal(plain[first], history[first])
    payoff = [r.loc[r["year"] == 2, "inflation_payoff"].mean() for r in (plain, history)]
    assert payoff[1] < payoff[0]
