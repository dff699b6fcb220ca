"""The evaluation cycle's coverage, cross-year, rationing and blacklist rules carried over
noisy years give the same numbers whatever the chunking and the engine (numpy, a process
pool, a Dask cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfsim

SCENARIO = """name: engines
seed: 12
portfolio: {file: pf.csv}
linkage:
  rule: grade_table
  multipliers: {excellent: 1.05, good: 1.0, fair: 0.9, poor: 0.7}
  pool: redistribute
  coverage: {min_budget: 900, funds_share: 0.5}
  cross_year: {evaluation: annual, lag: 0.2}
  rectification: {grades: [poor], probability: 0.5, unrectified: {poor: 0.3}}
  blacklist: {after: [unrectified], years: 2, cut: 0.5}
simulation:
  replications: 70
  years: 4
  dynamics: {entry_rate: 0.2}
  self_evaluation: {noise: 0.04, inflation_mean: 0.02, inflation_sd: 0.02}
  spot_check: {share: 0.3, days_budget: 8, noise: 0.02}
  cost: {self_evaluation: 100, recheck: 1000, recheck_days: 2}
  evaluators: {third_party_min_budget: 1200, third_party_noise: 0.08, third_party_cost: 5000,
               deposit: 0.2, deposit_tolerance: 3, blacklist_years: 1}
"""


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    rng = np.random.default_rng(3)
    n = 24
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(n)],
                  "department": [f"D{i % 5}" for i in range(n)],
                  "budget": rng.integers(2, 20, n) * 100.0,
                  "score": rng.uniform(40, 98, n).round(1),
                  "years_left": rng.integers(1, 4, n)}).to_csv(folder / "pf.csv", index=False)
    (folder / "sc.yaml").write_text(SCENARIO, encoding="utf-8")
    return perfsim.load(folder / "sc.yaml")


@pytest.fixture(scope="module")
def numpy_run(cycle):
    return cycle.simulate(chunk=32, engine="numpy").replications


def test_chunking_and_the_process_pool_give_the_same_numbers(cycle, numpy_run):
    pd.testing.assert_frame_equal(numpy_run, cycle.simulate(chunk=96).replications)
    pd.testing.assert_frame_equal(numpy_run, cycle.simulate(chunk=32, engine="processes",
                                                            workers=2).replications)
    # the rules are all at work somewhere in the run
    assert (numpy_run["count_self_evaluated"] < numpy_run["projects"]).all()
    for name in ("deposits_forfeited", "third_party_barred", "units_blacklisted",
                 "count_unrectified", "misgraded_avoided"):
        assert numpy_run[name].abs().max() > 0, name
    # 8 staff-days at 2 a check: at most 4 checks a year, however many a 30% share asks for
    assert (numpy_run["recheck_coverage"] > 0).all()
    assert numpy_run["evaluation_days"].max() == 8


def test_a_dask_cluster_gives_the_same_numbers(cycle, numpy_run):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        dask = cycle.simulate(chunk=32, engine="dask",
                              scheduler=cluster.scheduler_address).replications
    pd.testing.assert_frame_equal(numpy_run, dask)
