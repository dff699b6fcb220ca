"""Optimised weights as a weighting method of the system file and of the researcher's
object: each leaf's importance within its group (its Pearson correlation with the group's
weighted sum of normalised values, as shares) comes out equal, computed here with numpy's
correlation; options that do not apply are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.errors import InputError
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import leaf_directions

SCENARIO = SCENARIOS / "weighting_comparison.yaml"


@pytest.fixture(scope="module")
def scenario():
    return perfsim.load(SCENARIO)


def test_optimised_leaves_make_every_leaf_equally_important_in_its_group(scenario):
    new = scenario.set({"weighting.leaves.method": "optimised"})
    system = scenario.system
    assert new.system.points.sum() == pytest.approx(system.total)
    meas = scenario.portfolio.measurements()
    dirs = leaf_directions(system)
    assert "attainment" not in dirs  # every column below is a raw measurement
    idx = system.level1_index
    moved = 0
    for g, _code in enumerate(system.level1_codes):
        cols = np.flatnonzero(idx == g)
        if cols.size < 2:
            continue
        # the group's points keep the file's subtotal (groups stay expert)
        assert new.system.points[cols].sum() == pytest.approx(system.points[cols].sum())
        x = np.column_stack([np.asarray(meas[system.codes[k]], dtype=float) for k in cols])
        x = np.where(np.array([dirs[k] == "lower" for k in cols]), -x, x)
        y = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))
        index = y @ new.system.points[cols]
        r = np.array([np.corrcoef(y[:, j], index)[0, 1] for j in range(cols.size)])
        assert r / r.sum() == pytest.approx(np.full(cols.size, 1 / cols.size), abs=2e-3)
        moved += not np.allclose(new.system.points[cols], system.points[cols])
    assert moved  # the file's points did not already have equal importance


def test_optimised_is_an_objective_method_of_combined():
    spec = parse_weighting({"leaves": {"method": "combined", "objective": "optimised",
                                       "alpha": 0.5}})
    assert spec.leaves.uses_data and spec.leaves.objective == "optimised"


def test_options_of_other_methods_are_refused():
    with pytest.raises(InputError, match="variance_kept.*only applies to PCA"):
        parse_weighting({"leaves": {"method": "optimised", "variance_kept": 0.9}})
