"""Imported tables' totals in four passes: each leaf's points rounded half up in units of the
last decimal, the units summed exactly (:func:`perfsim.kernel.scoring.cell_total`) — the
same printed totals, to the bit, as rounding every leaf and summing the rounded points;
measurement space on the Monte Carlo's per-slot cells grouped by rule once
(:func:`perfsim.kernel.scoring.cell_attain_rows`) — the same attainments as a mask per rule
over every cell; negative points in an imported folder are refused (a leaf earns a share of
its points)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line
from test_imported import imported

from perfsim.cli import main
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.measurement import CellSpace
from perfsim.kernel.scoring import (
    CELL_KINDS,
    cell_attain_latent,
    cell_attain_rows,
    cell_groups,
    cell_total,
    round_half_up,
)

K = {k: i for i, k in enumerate(CELL_KINDS)}


def leafwise(attainment, points, decimals=2):
    """The printed total the long way: every leaf rounded, the rounded leaves summed, the
    sum rounded as the form prints it."""
    return round_half_up(round_half_up(attainment * points, decimals).sum(axis=-1), decimals)


def test_leaves_round_half_up_and_sum_by_hand():
    a = np.array([0.5, 1 / 3, 0.805, 0.125, 0.0])
    pts = np.array([10.0, 20.0, 5.0, 1.0, 0.0])
    # 5.00 + 6.67 (6.666…) + 4.03 (4.025 half up) + 0.13 (0.125 half up, not to even) + 0
    assert cell_total(a, pts, 2) == 15.83
    # a value stored a hair below a printed half rounds as the half: 89.995 → 90.00
    assert cell_total(np.array([0.89995]), np.array([100.0]), 2) == 90.0
    assert cell_total(np.array([0.89994]), np.array([100.0]), 2) == 89.99
    # whole points, per project: (P, L) → (P,)
    got = cell_total(np.array([[1.0, 0.5], [0.25, 0.0]]), np.array([[60.0, 40.0], [30.0, 0.0]]),
                     1)
    assert got.tolist() == [80.0, 7.5]


def halves(rng, shape, points):
    """Attainments whose leaf points land on printed halves (x.xx5) and a hair either side of
    them, mixed with ordinary ones: the values where rounding can go wrong."""
    a = rng.random(shape)
    units = rng.integers(0, 2000, shape) + 0.5          # a half of a unit of 0.01
    on = np.where(points > 0, units / 100 / np.where(points > 0, points, 1.0), 0.0)
    nudge = rng.choice([-1e-12, 0.0, 1e-12, -5e-9, 5e-9], shape)
    pick = rng.random(shape)
    a = np.where(pick < 0.4, np.clip(on + nudge, 0.0, 1.0), a)
    return np.where(pick > 0.9, rng.choice([0.0, 1.0], shape), a)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_exact_sum_prints_every_total_as_leaf_by_leaf_rounding(seed):
    rng = np.random.default_rng(seed)
    P, L = 4000, 14  # noqa: N806
    points = rng.choice([0.0, 2.0, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 30.0, 0.25], (P, L))
    points[:, 11:] = np.where(rng.random((P, 3)) < 0.5, 0.0, points[:, 11:])   # padding
    a = halves(rng, (P, L), points)
    for decimals in (0, 1, 2):
        fast = cell_total(a, points, decimals)
        long = round_half_up(a * points, decimals).sum(axis=-1)
        assert np.abs(fast - long).max() < 1e-9
        # rounded as the total is printed: the same to the bit
        printed = round_half_up(fast, decimals)
        assert np.array_equal(printed.view(np.int64), leafwise(a, points, decimals).view(np.int64))


def test_the_measure_scores_per_slot_cells_and_checked_cells_as_the_forms_print():
    rng = np.random.default_rng(7)
    R, S, L = 5, 300, 9  # noqa: N806
    own = rng.choice([0.0, 5.0, 10.0, 12.5, 20.0], (R, S, L))
    a = halves(rng, (R, S, L), own)
    m = Measure(points=own.mean(axis=(0, 1)), span=np.ones(L), cells=own, leaf_decimals=2,
                total_decimals=2)
    want = leafwise(a, own)
    assert np.array_equal(m.score(a), want)
    assert np.array_equal(m.at(slice(2, 4)).score(a[2:4]), want[2:4])
    rows = (np.array([0, 3, 4, 4]), np.array([7, 0, 299, 5]))
    assert np.array_equal(m.score_rows(a[rows], rows), want[rows])
    # a bonus is added before the total is rounded
    bonus = rng.choice([0.0, 1.5, 2.25], (R, S))
    assert np.array_equal(m.score(a, bonus=bonus),
                          round_half_up(round_half_up(a * own, 2).sum(axis=-1) + bonus, 2))


def test_grouped_cells_move_by_their_own_rule_by_hand():
    # two rows × one slot × six cells: proportional higher and lower, threshold, level,
    # execution, padding; the second row holds the same cells in another order
    kind = np.array([[[K["proportional"], K["proportional"], K["threshold"], K["level"],
                       K["execution"], K["pad"]]],
                     [[K["pad"], K["execution"], K["level"], K["threshold"],
                       K["proportional"], K["proportional"]]]])
    direction = np.array([[[0, 1, 0, 0, 0, 0]], [[0, 0, 0, 0, 1, 0]]])
    target = np.array([[[100.0, 900.0, 0, 0, 0, 0]], [[0, 0, 0, 0, 900.0, 100.0]]])
    value = np.array([[[120.0, 800.0, 1.0, 0.8, 1.2, 0.0]], [[0.0, 1.2, 0.8, 1.0, 800.0,
                                                               120.0]]])
    base = np.array([[[1.0, 1.0, 1.0, 0.8, 1.0, 0.0]], [[0.0, 1.0, 0.8, 1.0, 1.0, 1.0]]])
    change = np.array([[[-0.1, -0.2, -0.01, -0.1, -0.1, 0.3]],
                       [[0.3, -0.1, -0.1, -0.01, -0.2, -0.1]]])
    groups = cell_groups(kind, direction)
    got = cell_attain_rows(groups, target, value, base, base + change, slice(0, 2))
    # 120 − 100 × 0.1 = 110 ≥ 100: full; 800 + 900 × 0.2 = 980 → 900/980; 0.99 misses the
    # threshold; a level stays a share (0.7); the rate 1.2 − 0.1: full; padding clipped (0.3)
    row = [1.0, 900 / 980, 0.0, 0.8 - 0.1, 1.0, 0.3]
    assert got.tolist() == [[row], [row[::-1]]]
    # the second row alone: its cells found among the positions of both rows
    alone = cell_attain_rows(groups, target, value, base, (base + change)[1:], slice(1, 5))
    assert alone.tolist() == [[row[::-1]]]


@pytest.mark.parametrize("seed", [4, 5])
def test_grouped_cells_score_as_a_mask_per_rule_does(seed):
    rng = np.random.default_rng(seed)
    R, S, L = 7, 50, 8  # noqa: N806
    kind = rng.integers(0, len(CELL_KINDS), (R, S, L)).astype(np.int8)
    direction = rng.integers(0, 3, (R, S, L)).astype(np.int8)
    target = rng.choice([50.0, 95.0, 900.0, -20.0], (R, S, L))
    value = target * rng.uniform(0.5, 1.5, (R, S, L))
    value = np.where(kind == K["threshold"], rng.integers(0, 2, (R, S, L)), value)
    base = rng.random((R, S, L))
    latent = base + rng.normal(0, 0.2, (R, S, L))
    space = CellSpace(kind=kind, direction=direction, target=target, value=value, base=base)
    assert space.groups is not None
    for rows in (slice(0, 3), slice(3, 6), slice(6, 9), slice(2, 3)):
        want = cell_attain_latent(kind[rows], direction[rows], target[rows], value[rows],
                                  base[rows], latent[rows])
        assert np.array_equal(space.attain(latent[rows], rows), want)
    # cells per project, not per slot (broadcast over the rows): the mask per rule
    one = CellSpace(kind=kind[0], direction=direction[0], target=target[0], value=value[0],
                    base=base[0])
    assert one.groups is None
    assert np.array_equal(one.attain(latent[:2], slice(0, 2)),
                          cell_attain_latent(kind[0], direction[0], target[0], value[0],
                                             base[0], latent[:2]))


@pytest.mark.parametrize(("csv", "column", "row"), [("leaves.csv", "points", 5),
                                                   ("projects.csv", "exec_points", 3)])
def test_negative_points_are_one_line(tmp_path, capsys, csv, column, row):
    scenario, out = imported(tmp_path)
    table = pd.read_csv(out / csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    table.loc[row - 2, column] = "-5"
    table.to_csv(out / csv, index=False, encoding="utf-8-sig")
    assert main(["run", str(scenario), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert f"{csv}: 第 {row} 行 row {row}: 字段 field '{column}' = '-5'" in line
    assert "must be >= 0" in line
