"""Measurement space scores each group of leaves leaf by leaf and moves the values of every
rule that moves them along its slope in one step (:meth:`LeafSpace.attain`,
:func:`perfsim.kernel.scoring.along_slope`). These tests hold that arrangement to the scores
each leaf's own rule gives one leaf at a time (the rule as the system defines it, its own
target, leaves last), bit for bit, and the slope move to numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from perfsim.kernel.measurement import LeafSpace, set_targets
from perfsim.kernel.scoring import RULES, along_slope, make_rule, with_targets

#: leaves of many kinds, the same kind at leaves apart (grouped), different targets in one
#: group, an exact target and a threshold ``==`` (moved towards the target, not along the
#: slope), bounds (deduct: >= 0; share: [0, 1])
LEAVES = (
    ("proportional", {}, 100.0, "higher", 3.0),
    ("graded", {"levels": {"a": 1.0, "b": 0.8, "c": 0.6, "d": 0.0}}, None, "higher", 3.0),
    ("deduct", {"per": 1}, None, "higher", 4.0),
    ("proportional", {}, 80.0, "higher", 5.0),
    ("linear", {"floor": 60}, 100.0, "higher", 4.0),
    ("all_or_nothing", {"min": 1}, None, "higher", 2.0),
    ("graded", {"levels": {"a": 1.0, "b": 0.8, "c": 0.6, "d": 0.0}}, None, "higher", 2.0),
    ("proportional", {}, 40.0, "lower", 5.0),
    ("execution_rate", {"floor": 60}, 100.0, "higher", 5.0),
    ("threshold", {"op": ">="}, 10.0, "higher", 3.0),
    ("share", {}, None, "higher", 4.0),
    ("linear", {"floor": 60}, 90.0, "higher", 4.0),
    ("proportional", {}, 50.0, "equal", 3.0),
    ("threshold", {"op": "=="}, 5.0, "equal", 2.0),
    ("ratio", {"scale": 100}, None, "higher", 3.0),
    ("proportional", {}, 100.0, "higher", 3.0),
)
P = 40


def rules():
    return tuple(make_rule(k, p, target=t, direction=d, points=pts)
                 for k, p, t, d, pts in LEAVES)


def portfolio(rng, measured_share=1.0):
    """Measured values, the attainment each earns, and which cells are measured: leaf 5 on
    some projects only (not everywhere), leaf 15 on none (clipped as in attainment space)."""
    rs = rules()
    value = np.empty((P, len(rs)))
    for i, r in enumerate(rs):
        value[:, i] = r.invert(rng.uniform(0.0, 1.0, P))
    value[:3, 0] = 100.0          # exactly at the target
    base = np.column_stack([r.attainment(value[:, i]) for i, r in enumerate(rs)])
    measured = np.ones(value.shape, dtype=bool)
    measured[::3, 5] = False
    measured[:, 15] = False
    return rs, value, base, measured


def by_leaf(rs, value, base, measured, latent, targets=None):
    """Each leaf scored by its own rule alone (leaves last, its own target or the projects'),
    the cells without a measurement clipped: what :meth:`LeafSpace.attain` must give."""
    out = np.clip(latent, 0.0, 1.0)
    for i, r in enumerate(rs):
        scorer = None
        if targets is not None and r.needs_target:
            scorer = with_targets(r, targets[..., i])
        got = r.attain_latent(value[..., i], base[..., i], latent[..., i], scorer)
        out[..., i] = np.where(measured[..., i], got, out[..., i])
    return out


def same_bits(a, b):
    return a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a).view(np.uint64), np.ascontiguousarray(b).view(np.uint64))


def slots(pick):
    """The Monte Carlo's map of a project array onto the slots: the projects, then the
    entrants ``pick`` (rows, entrants)."""
    def fn(v):
        head = np.broadcast_to(v, (pick.shape[0],) + v.shape)
        return np.concatenate([head, np.take(v, pick, axis=0)], axis=1)
    return fn


def test_each_leaf_scores_as_its_own_rule_alone_bit_for_bit():
    rng = np.random.default_rng(7)
    rs, value, base, measured = portfolio(rng)
    space = LeafSpace(rules=rs, value=value, base=base, measured=measured)
    latent = base + rng.normal(0.0, 0.2, (3, P, len(rs)))
    latent[0, :5] = base[:5]       # no change: each leaf scores the portfolio's own value
    got = space.attain(latent.copy())
    assert same_bits(got, by_leaf(rs, value, base, measured, latent))
    assert got.flags.c_contiguous
    # the leaves that move along the slope are moved together, the others on their own
    moved = {space.groups[g][1].kind for g in space._moves[0]}
    assert {"proportional", "deduct", "linear", "share", "threshold"} <= moved
    assert "graded" not in moved


def test_rows_and_cells_of_the_slots_score_as_each_leaf_alone_with_projects_targets():
    """The Monte Carlo's path: the space mapped to slots (entrants resampled), read a few
    rows at a time and at re-checked cells, with targets the projects set themselves (a
    re-check resetting the soft ones)."""
    rng = np.random.default_rng(11)
    rs, value, base, measured = portfolio(rng)
    space = LeafSpace(rules=rs, value=value, base=base, measured=measured)
    ambition = rng.uniform(-0.1, 0.2, P)
    expected = value * rng.uniform(0.9, 1.1, value.shape)
    space = set_targets(space, expected, ambition, recheck_resets=True)
    pick = rng.integers(0, P, (6, 7))
    mapped = space.map(slots(pick))
    fn = slots(pick)
    v, b, m = fn(value), fn(base), fn(measured)
    own, reset = fn(space.targets), fn(space.reset)
    latent = b + rng.normal(0.0, 0.25, b.shape)
    for r0 in (0, 2, 4):
        r = slice(r0, r0 + 2)
        got = mapped.attain(latent[r].copy(), r)
        assert same_bits(got, by_leaf(rs, v[r], b[r], m[r], latent[r], own[r]))
    cells = np.nonzero(rng.random(latent.shape[:2]) < 0.3)
    got = mapped.attain(latent[cells], cells, recheck=True)
    want = by_leaf(rs, v[cells], b[cells], m[cells], latent[cells], reset[cells])
    assert same_bits(got, want)
    # the re-check scored a soft target against the expected value: it differs somewhere
    soft = fn(space.soft[:, None])[cells][:, 0]
    assert soft.any() and not same_bits(got, mapped.attain(latent[cells], cells))


def test_latent_leaves_given_leaves_first_score_as_each_leaf_alone_and_stay_unwritten():
    """The evaluation process builds the self-evaluation's latent leaves leaves first
    (``leaf_major``): the same scores, bit for bit, and the leaves given are not written."""
    rng = np.random.default_rng(13)
    rs, value, base, measured = portfolio(rng)
    space = LeafSpace(rules=rs, value=value, base=base, measured=measured)
    pick = rng.integers(0, P, (6, 7))
    mapped, fn = space.map(slots(pick)), slots(pick)
    v, b, m = fn(value), fn(base), fn(measured)
    latent = b + rng.normal(0.0, 0.25, b.shape)
    for r0 in (0, 3):
        r = slice(r0, r0 + 3)
        given = np.ascontiguousarray(np.moveaxis(latent[r], -1, 0))   # (leaves, rows, slots)
        kept = given.copy()
        got = mapped.attain(given, r, leaf_major=True)
        assert got.shape == latent[r].shape and got.flags.c_contiguous
        assert same_bits(got, by_leaf(rs, v[r], b[r], m[r], latent[r]))
        assert same_bits(given, kept)


def test_the_slope_move_worked_by_hand():
    """``base + slope × change`` in numbers exact in binary; bounds and whole units per part;
    the base itself where the change is 0, even outside the bounds."""
    base = np.array([[80.0, 2.0, -1.0], [0.5, 1.0, 0.25]])
    change = np.array([[0.125, 0.5, 0.0], [-0.25, 0.375, 0.0]])
    slope = np.array([[100.0], [-4.0]])
    got = along_slope(slope, base, change)
    assert got.tolist() == [[92.5, 52.0, -1.0], [1.5, -0.5, 0.25]]
    parts = ((slice(0, 1), None, 60.0, False), (slice(1, 2), 0.0, None, True))
    got = along_slope(slope, base, change, parts)
    # row 0 capped at 60 (the unchanged -1 stays); row 1 rounded (1.5 → 2, half to even),
    # then kept >= 0 (-0.5 → -0 → 0)
    assert got.tolist() == [[60.0, 52.0, -1.0], [2.0, 0.0, 0.25]]


@pytest.mark.parametrize("kind", sorted(RULES))
def test_a_rule_that_says_it_moves_along_its_slope_does(kind):
    """:meth:`Rule.slope_move` is what measurement space trusts to move a rule's values with
    others': the rule's own :meth:`measured_value` must be that move."""
    params = {"deduct": {"per": 2, "step": 5}, "linear": {"floor": 60},
              "bonus": {"per": 2}, "graded": {}, "assessed": {}}.get(kind, {})
    try:
        rule = make_rule(kind, params, target=90.0, points=6.0)
    except Exception:
        rule = make_rule(kind, params, points=6.0)
    move = rule.slope_move()
    if move is None:
        pytest.skip(f"{kind} moves its values otherwise")
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 120.0, 50)
    change = rng.normal(0.0, 0.3, 50)
    change[:5] = 0.0
    want = np.asarray(rule.slope, dtype=float) * change + base
    low, high, whole = move
    if whole:
        want = np.rint(want)
    if low is not None:
        want = np.maximum(want, low)
    if high is not None:
        want = np.minimum(want, high)
    want[:5] = base[:5]
    assert np.array_equal(rule.measured_value(base, change), want)


def test_per_row_targets_on_the_projects_own_values_score_as_each_leaf_alone():
    """A sensitivity sample's path: the projects' own values (projects, leaves) with targets
    set per row (an ambition per row and project), read a few rows at a time and at cells."""
    rng = np.random.default_rng(5)
    rs, value, base, measured = portfolio(rng)
    R = 4
    ambition = rng.uniform(-0.1, 0.3, (R, P))
    space = set_targets(LeafSpace(rules=rs, value=value, base=base, measured=measured),
                        value, ambition)
    assert space.targets.shape == (R, P, len(rs))
    latent = base + rng.normal(0.0, 0.25, (R, P, len(rs)))
    r = slice(1, 3)
    got = space.attain(latent[r].copy(), r)
    want = by_leaf(rs, value, base, measured, latent[r], space.targets[r])
    assert same_bits(got, want)
    cells = np.nonzero(rng.random((R, P)) < 0.4)
    got = space.attain(latent[cells], cells)
    want = by_leaf(rs, value[cells[1]], base[cells[1]], measured[cells[1]], latent[cells],
                   space.targets[cells])
    assert same_bits(got, want)
