"""Each level-1 group aggregating its own way (COINr's per-group aggregation): by hand on one
project, through a scenario's one-year run, and as a discrete factor of the sensitivity
analysis."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DATA, tiny_measured_scenario

import perfsim
from perfsim.errors import InputError
from perfsim.kernel.scoring import total_score
from perfsim.model.indicators import load_indicator_system
from perfsim.run.sensitivity import evaluate_samples
from perfsim.run.year import run_year

# leaves A.1.1 20, A.1.2 10, A.2 20 (group A, 50 points), B 30, C 20
POINTS = np.array([20.0, 10.0, 20.0, 30.0, 20.0])
GROUPS = np.array([0, 0, 0, 1, 2])
A = np.array([[1.0, 0.8, 0.5, 0.9, 0.6]])


@pytest.mark.parametrize(("within", "expected"), [
    (None, 20 + 8 + 10 + 27 + 12),                                    # 77: the weighted sum
    (np.array([2, 0, 0]), 50 * 0.5 + 27 + 12),                        # A as its weakest leaf
    (np.array([1, 0, 0]), 50 * 0.8 ** (10 / 50) * 0.5 ** (20 / 50) + 27 + 12),  # A geometric
])
def test_a_group_aggregates_its_leaves_its_own_way(within, expected):
    out = total_score(A, POINTS, groups=GROUPS, method="weighted_sum", total=100.0,
                      within=within)
    assert out[0] == pytest.approx(expected)


def test_groups_then_combine_by_the_level1_method():
    # weakest link of the groups, A as its weakest leaf: min(0.5, 0.9, 0.6) of 100
    out = total_score(A, POINTS, groups=GROUPS, method="weakest_link", total=100.0,
                      within=np.array([2, 0, 0]))
    assert out[0] == pytest.approx(50.0)


@pytest.fixture
def sc(tmp_path):
    return perfsim.load(tiny_measured_scenario(tmp_path))


def test_the_weakest_leaf_of_outputs_decides_its_points(sc):
    # P2's outputs: A.1.1 0.8 (16), A.1.2 0.8 (8), A.2 0.5 (10) = 34 of 50; as its weakest
    # leaf 0.5 × 50 = 25, 9 points less. P3: 0.5, 0.4, 0 -> 14 points become 0. P1 all 1.0.
    plain = sc.run_year().allocations["score"].to_numpy()
    weakest = sc.set({"aggregation.A": "min"}).run_year().allocations["score"].to_numpy()
    assert (plain - weakest).tolist() == pytest.approx([0.0, 9.0, 14.0])


def test_a_file_may_say_it_and_errors_name_the_group(tmp_path):
    text = (DATA / "tiny_system.yaml").read_text(encoding="utf-8")
    (tmp_path / "s.yaml").write_text(text + "group_aggregation: {A: geometric}\n",
                                     encoding="utf-8")
    system = load_indicator_system(tmp_path / "s.yaml")
    assert system.group_aggregation == {"A": "geometric"} and system.within.tolist() == [1, 0, 0]
    (tmp_path / "bad.yaml").write_text(text + "group_aggregation: {Z: min}\n", encoding="utf-8")
    with pytest.raises(InputError, match="group_aggregation.Z.*not a level-1 group"):
        load_indicator_system(tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text(text + "group_aggregation: {A: median}\n",
                                        encoding="utf-8")
    with pytest.raises(InputError, match="must be one of arithmetic, geometric, min"):
        load_indicator_system(tmp_path / "bad2.yaml")


def test_as_a_discrete_factor_a_sample_is_the_run_with_that_choice(sc):
    quiet = sc.settings.without_noise()
    names = ["savings", "share_excellent", "share_poor"]
    y = evaluate_samples(sc, ["aggregation.A"], np.array([[0.2], [0.8]]), metrics=names,
                         settings=quiet, choices={"aggregation.A": ["arithmetic", "min"]})
    for row, choice in zip(y, ["arithmetic", "min"], strict=True):
        other = sc.replace(system=dataclasses.replace(
            sc.system, group_aggregation={"A": choice}))
        year = run_year(other).metrics
        assert row.tolist() == [year[m] for m in names]
    with pytest.raises(InputError, match="aggregation.Q"):
        evaluate_samples(sc, ["aggregation.Q"], np.array([[0.5]]), metrics=names,
                         choices={"aggregation.Q": ["min"]})
