"""A Monte Carlo that records only some metrics gives those metrics exactly as the whole
registry's run does."""

import numpy as np
import pandas as pd
import pytest

from perfsim.errors import InputError
from perfsim.model.portfolio import DATASETS
from perfsim.run.study import load


@pytest.fixture(scope="module")
def scenario():
    return load(DATASETS / "scenarios" / "weighting_comparison.yaml")


def test_recording_some_metrics_gives_them_as_the_whole_registry_does(scenario):
    whole = scenario.simulate(replications=24, years=2)
    some = scenario.simulate(replications=24, years=2,
                             metrics=["misgrading", "wrong_cuts", "savings"])
    codes = list(scenario.grading.labels.codes)
    kept = ["replication", "year", "projects", "misgrading", "wrong_cuts", "savings",
            *(f"count_{c}" for c in codes)]
    assert set(some.replications.columns) == set(kept)
    assert set(whole.replications.columns) > set(kept)     # the registry records more
    pd.testing.assert_frame_equal(some.replications[kept], whole.replications[kept],
                                  check_exact=True)
    for name in kept[2:]:
        assert some.summary["metrics"][name] == whole.summary["metrics"][name]
    pd.testing.assert_frame_equal(some.projects, whole.projects, check_exact=True)
    pd.testing.assert_frame_equal(some.sample, whole.sample, check_exact=True)
    assert np.ptp(some.replications["savings"]) > 0


def test_an_unknown_metric_is_refused_before_any_work(scenario):
    with pytest.raises(InputError, match="no_such_metric"):
        scenario.simulate(replications=8, years=1, metrics=["no_such_metric"])
