"""Rows that repeat (perfsim.kernel.rows) and the checks' threshold built on them: each
against a plain computation (a full sort; a loop over the projects in their listed order)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsim.kernel.evaluation import _top
from perfsim.kernel.rows import sorted_at

# few distinct values, so that ties and repeated rows are the rule, not the exception
VALUES = st.sampled_from([0.0, -0.0, 1.5, 2.0, 2.0, 7.25, np.inf, -np.inf, np.nan])


@st.composite
def rows_and_places(draw):
    n = draw(st.integers(1, 9))
    base = [draw(st.lists(VALUES, min_size=n, max_size=n)) for _ in range(draw(st.integers(1, 4)))]
    rows = [base[i] for i in draw(st.lists(st.integers(0, len(base) - 1), min_size=1,
                                           max_size=8))]
    places = draw(st.lists(st.integers(0, n - 1), min_size=len(rows), max_size=len(rows)))
    return np.array(rows, dtype=float), np.array(places)[:, None]


@settings(max_examples=300, deadline=None)
@given(rows_and_places())
def test_the_value_at_a_place_of_each_sorted_row_is_the_full_sorts(case):
    x, j = case
    expected = np.take_along_axis(np.sort(x, axis=-1), j, axis=-1)
    got = sorted_at(x, j)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=True)


@st.composite
def checks(draw):
    n = draw(st.integers(1, 9))
    r = draw(st.integers(1, 6))
    key = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 2.0, 3.0, 5.0]), min_size=r * n,
                                 max_size=r * n))).reshape(r, n)
    if draw(st.booleans()):   # repeated rows, as a sensitivity analysis's samples share them
        key[1:] = key[0]
    active = np.array(draw(st.lists(st.booleans(), min_size=r * n,
                                    max_size=r * n))).reshape(r, n)
    count = np.array(draw(st.lists(st.integers(0, n), min_size=r, max_size=r)))[:, None]
    return key, active, count


@settings(max_examples=300, deadline=None)
@given(checks())
def test_the_checks_take_the_largest_keys_ties_to_the_project_listed_first(case):
    key, active, count = case
    got = _top(key, active, count)
    for r in range(key.shape[0]):
        # the active projects by key, largest first, ties in listed order; the first n
        order = sorted((i for i in range(key.shape[1]) if active[r, i]),
                       key=lambda i: (-key[r, i], i))
        want = np.zeros(key.shape[1], dtype=bool)
        want[order[:count[r, 0]]] = True
        assert np.array_equal(got[r], want), (key[r], active[r], count[r])
