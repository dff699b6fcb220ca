"""Scoring rules own their behaviour (perfsim.kernel.scoring): each rule class declares which way
a raw measured value raises its score, its slope and its measured value, or fails when it is
made; and for every registered rule a higher latent performance never lowers a score, in
attainment space and in measurement space, with every random source on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsim.kernel.evaluation import Measure, Process, YearDraws, evaluate_process, prepare_leaves
from perfsim.kernel.measurement import LeafSpace, ambition_targets
from perfsim.kernel.scoring import OWN, RULES, Rule, make_rule

# --- a rule class must say what it does ----------------------------------------------------


def _complete_body() -> dict:
    """Every name of OWN defined (the numbers do not matter: the class is never scored)."""
    return {"kind": "probe", "attainment": lambda self, v, aux=None: v,
            "invert": lambda self, a: a,
            "value_direction": property(lambda self: "higher"),
            "slope": property(lambda self: 1.0),
            "measured_value": lambda self, b, d: b + d}


def test_a_rule_class_with_everything_it_owns_is_made():
    cls = type("Probe", (Rule,), _complete_body())
    assert cls(points=2.0).measured_value(np.array([1.0]), np.array([0.5])).tolist() == [1.5]


@pytest.mark.parametrize("name", sorted({"value_direction", "slope", "measured_value"} | set(OWN)))
def test_a_rule_class_that_leaves_one_to_the_base_fails_when_it_is_made(name):
    body = _complete_body()
    del body[name]
    with pytest.raises(TypeError, match=rf"Probe \(kind 'probe'\) must define {name} "):
        type("Probe", (Rule,), body)


def test_a_family_base_without_a_kind_may_leave_them_open_and_its_rules_may_not():
    family = type("Family", (Rule,), {"reads_points": False})
    body = _complete_body()
    del body["slope"]
    with pytest.raises(TypeError, match="must define slope"):
        type("Member", (family,), body)


# --- examples of every registered rule ------------------------------------------------------

#: Rules of every registered kind, in each direction or comparison they take. Over-completion
#: (proportional) is left out on purpose: it marks down a value far above a target set too low,
#: so a higher value may earn less — the MoF template's rule, not a slip.
EXAMPLES: dict[str, list[tuple[dict, float | None, str, float]]] = {
    # kind: [(params, target, direction, points), ...]
    "proportional": [({}, 100.0, "higher", 10.0), ({}, 40.0, "lower", 10.0),
                     ({}, 100.0, "equal", 10.0)],
    "threshold": [({}, 50.0, "higher", 10.0), ({}, 100.0, "lower", 10.0),
                  ({"tolerance": 0.5}, 3.0, "equal", 10.0), ({"op": ">="}, 0.5, "higher", 4.0)],
    "linear": [({"floor": 60}, 100.0, "higher", 10.0), ({"floor": 20}, 5.0, "lower", 10.0)],
    "deduct": [({"per": 1, "step": 5}, None, "higher", 5.0),
               ({"per": 2, "step": 3, "periods": "started", "allowance": 2}, None, "higher", 10.0),
               ({"per": 0.5, "periods": "pro_rata"}, None, "higher", 4.0)],
    "share": [({}, None, "higher", 10.0)],
    "all_or_nothing": [({}, None, "higher", 10.0), ({"min": 3}, None, "higher", 10.0)],
    "graded": [({}, None, "higher", 10.0),
               ({"levels": {"好": 1.0, "较好": 0.9, "中": 0.9, "差": 0.2}}, None, "higher", 10.0)],
    "ratio": [({}, None, "higher", 10.0), ({"scale": 10}, None, "higher", 10.0)],
    "grade_points": [({}, None, "higher", 10.0)],
    "execution_rate": [({"floor": 50}, 100.0, "higher", 10.0),
                       ({"floor": 0}, 100.0, "lower", 10.0)],
    "bonus": [({"per": 2}, None, "higher", 5.0), ({"per": 0.5}, None, "higher", 3.0)],
    "recheck": [({}, None, "higher", 10.0), ({"gap_mode": "excess"}, None, "higher", 10.0)],
    "assessed": [({}, None, "higher", 10.0)],
}
CASES = [pytest.param(kind, *case, id=f"{kind}-{i}")
         for kind, cases in EXAMPLES.items() for i, case in enumerate(cases)]


def test_every_registered_rule_has_examples():
    assert set(EXAMPLES) == set(RULES)


@pytest.mark.parametrize("kind, params, target, direction, points", CASES)
def test_the_declared_direction_is_the_way_a_raw_value_raises_the_score(
        kind, params, target, direction, points):
    """Scored on a fine grid of raw values around everything the rule can earn (graded: every
    level), the
    attainment never falls along the declared direction (for ``equal``: towards the target),
    and the slope points the same way."""
    rule = make_rule(kind, params, target=target, direction=direction, points=points)
    ends = rule.invert(np.array([1e-6, 1.0]))
    lo, hi = float(ends.min()), float(ends.max())
    pad = max(hi - lo, 1.0)
    v = np.linspace(lo - pad, hi + pad, 4001)
    if kind == "graded":   # a level's position: whole numbers from 0 (the best)
        v = np.arange(len(rule.levels), dtype=float)
    a = rule.attainment(v)
    if rule.value_direction == "equal":
        t = float(rule.target)
        up, down = v >= t, v <= t
        assert np.all(np.diff(a[up]) <= 0) and np.all(np.diff(a[down]) >= 0)
        return
    if rule.value_direction == "lower":
        a, sign = a[::-1], -1.0
    else:
        assert rule.value_direction == "higher"
        sign = 1.0
    assert np.all(np.diff(a) >= 0)
    assert a[-1] > a[0]                  # the value matters
    assert np.all(sign * np.asarray(rule.slope) > 0)


def test_an_execution_rate_rises_with_the_amount_executed_whatever_the_leaf_says():
    """A lower-is-better execution rate (a slip in a file) still earns more when more is
    executed: 80 of a target of 100 moved by 0.1 of the leaf is 80 + 0.1 × 100 = 90."""
    rule = make_rule("execution_rate", {"floor": 0}, target=100.0, direction="lower")
    assert rule.value_direction == "higher"
    assert rule.measured_value(np.array([80.0]), np.array([0.1])).tolist() == [90.0]
    assert rule.attainment(np.array([90.0])) > rule.attainment(np.array([80.0]))


def test_an_ambitious_target_on_a_falling_linear_leaf_asks_for_less():
    """Linear from a floor of 20 (no points) to a target of 5 (full points) — a carry-over rate,
    lower is better — with the leaf's direction left at its default: an ambition of 0.25 on an
    expected 10 asks for 10 / 1.25 = 8, not 12.5."""
    rule = make_rule("linear", {"floor": 20}, target=5.0)
    assert ambition_targets(rule, np.array([10.0]), np.array([0.25])).tolist() == [8.0]


# --- monotonicity through the evaluation process ------------------------------------------

P, R = 6, 3   # projects, rows


def _draws(rng: np.random.Generator) -> YearDraws:
    return YearDraws(z_leaf=rng.standard_normal((R, P, 1)), z_self=rng.standard_normal((R, P, 1)),
                     z_re=rng.standard_normal((R, P, 1)), key=rng.random((R, P)),
                     z_exec=np.zeros((R, P, 1)), z_theta=np.zeros((R, P)))


def _copy(d: YearDraws) -> YearDraws:
    return YearDraws(z_leaf=d.z_leaf.copy(), z_self=d.z_self.copy(), z_re=d.z_re.copy(),
                     key=d.key.copy(), z_exec=d.z_exec.copy(), z_theta=d.z_theta.copy())


@pytest.mark.parametrize("kind, params, target, direction, points", CASES)
@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1),
       own=st.lists(st.floats(0.0, 1.0), min_size=P, max_size=P),
       shift=st.floats(-0.6, 0.6), more=st.floats(1e-3, 0.5),
       sds=st.tuples(st.floats(0.01, 0.3), st.floats(0.01, 0.3), st.floats(0.01, 0.3)),
       inflation=st.floats(-0.1, 0.2), share=st.sampled_from([0.0, 0.5, 1.0]))
def test_a_higher_latent_performance_never_lowers_a_score(
        kind, params, target, direction, points, seed, own, shift, more, sds, inflation, share):
    """The same draws (leaf dispersion, self-evaluation noise, inflation, random spot checks
    and their re-check noise) at two latent levels, the second higher by ``more``: the true,
    self- and final score of every project never fall, in attainment space (shares clipped)
    and in measurement space (the rule scores the measured value it declares)."""
    rule = make_rule(kind, params, target=target, direction=direction, points=points)
    value = rule.invert(np.array(own))[:, None]              # the portfolio's measurements
    base = rule.attainment(value)
    space = LeafSpace(rules=(rule,), value=value, base=base,
                      measured=np.ones((P, 1), dtype=bool))
    measure = Measure(np.array([points]), np.ones(1))
    process = Process(dispersion=sds[0], noise=sds[1], recheck_noise=sds[2],
                      check_share=share, selection="random")
    draws = _draws(np.random.default_rng(seed))
    infl = np.full((R, P), inflation)
    for leaves in (None, space):
        scores = []
        for level in (shift, shift + more):
            d = prepare_leaves(_copy(draws), base, process, measure.span)
            scores.append(evaluate_process(np.full((R, P), level), infl, measure, d, process,
                                           np.ones(P), np.ones((R, P), dtype=bool),
                                           measure.points, measure.points, space=leaves))
        low, high = scores
        assert np.array_equal(low.checked, high.checked)
        for stage in ("true", "self", "final"):
            assert np.all(getattr(high, stage) >= getattr(low, stage)), (stage, leaves)


@pytest.mark.parametrize("kind, params, target, direction, points",
                         [c for c in CASES if RULES[c.values[0]](
                             params=c.values[1], target=c.values[2], direction=c.values[3],
                             points=c.values[4]).is_bonus])
@given(own=st.lists(st.floats(0.0, 1.0), min_size=P, max_size=P),
       change=st.lists(st.floats(-1.0, 1.0), min_size=P, max_size=P), more=st.floats(1e-3, 1.0))
def test_a_higher_latent_performance_never_lowers_bonus_points(
        kind, params, target, direction, points, own, change, more):
    rule = make_rule(kind, params, target=target, direction=direction, points=points)
    value = rule.invert(np.array(own))[:, None]
    space = LeafSpace(rules=(), value=np.zeros((P, 0)), base=np.zeros((P, 0)),
                      measured=np.zeros((P, 0), dtype=bool), bonus_rules=(rule,),
                      bonus_value=value, bonus_given=np.ones((P, 1), dtype=bool),
                      bonus_cap=points)
    d = np.array(change)[None, :, None]
    assert np.all(space.bonus(d + more) >= space.bonus(d))
