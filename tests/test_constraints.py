"""One table of parameter constraints (perfsim.model.constraints): a scenario file, ``set``,
``--set``, calibration bounds and sensitivity ranges accept and refuse the same values with
the same message; ``Scenario.get``; ``Scenario.spec`` derived from the values in force."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import DATA, SCENARIOS, one_error_line, tiny_scores_scenario
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import perfsim
from perfsim.app import compute
from perfsim.cli import main, set_parameters
from perfsim.errors import InputError
from perfsim.model.constraints import (
    BOOL,
    CHOICE,
    INT,
    REAL,
    Constraint,
    constraint,
    set_file_value,
)
from perfsim.model.params import check_bounds
from perfsim.model.scenario import load_scenario
from perfsim.model.settings import PATHS, Settings
from perfsim.run.sensitivity import params_from_list
from perfsim.run.study import study

#: Between them, every kind of registry path: ``every_value`` has every value of the
#: evaluation cycle (grade keys written in Chinese too), cross_year_s8 the Liupanshui ratio,
#: fujian_housing an indicator system of 93 points (cutoffs and thresholds up to 93) and its
#: weights.
FILES = {"every_value": DATA / "every_value.yaml",
         "cross_year_s8": SCENARIOS / "cross_year_s8.yaml",
         "fujian_housing": SCENARIOS / "fujian_housing.yaml"}


@functools.cache
def scenario(name: str) -> perfsim.Scenario:
    return perfsim.load(FILES[name])


def scalar_paths(name: str) -> list[str]:
    return [p for p, par in scenario(name).parameters.items() if par.scalar]


_counter = itertools.count()


def write(sc: perfsim.Scenario, folder: Path, changes: Mapping[str, Any] | None = None,
          doc: Mapping[str, Any] | None = None) -> Path:
    """A scenario file in ``folder``: ``doc`` (default the scenario's spec) with its file
    names made absolute and ``changes`` written where a file holds them."""
    doc = dict(sc.spec if doc is None else doc)
    base = Path(sc.source).parent
    if doc.get("indicator_system") is not None:
        doc["indicator_system"] = str((base / doc["indicator_system"]).resolve())
    if isinstance(doc["portfolio"], Mapping) and "file" in doc["portfolio"]:
        doc["portfolio"] = {"file": str((base / doc["portfolio"]["file"]).resolve())}
    for path, value in (changes or {}).items():
        if path.startswith("simulation."):
            node = doc.setdefault("simulation", {})
            *heads, last = path.split(".")[1:]
            for key in heads:
                node = node.setdefault(key, {})
            node[last] = value
        else:
            set_file_value(doc, path, value, sc.grading.labels)
    out = folder / f"s{next(_counter)}.yaml"
    out.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return out


def refusal(call: Callable[[], Any]) -> str | None:
    """None when ``call`` accepts, else the problem its one-line error states."""
    try:
        call()
    except InputError as err:
        assert "\n" not in str(err)
        return err.problem
    return None


def yaml_text(value: Any) -> str:
    """``value`` as a command line writes it after ``--set PATH=``."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def values(c: Constraint, total: float, current: float) -> st.SearchStrategy[Any]:
    """Numbers inside and outside ``c``'s range, its ends and their neighbours, whole
    numbers, and what is not a number at all."""
    lo, hi = c.interval(total)
    span = hi - lo
    return st.one_of(
        st.floats(lo - span, hi + span, allow_nan=False),
        st.sampled_from([lo, hi, float(np.nextafter(lo, -np.inf)),
                         float(np.nextafter(hi, np.inf)), current, (lo + hi) / 2]),
        st.integers(math.floor(lo) - 2, math.ceil(hi) + 2),
        st.sampled_from([True, "0.5", None, math.nan, math.inf, -math.inf]))


# --- every entry agrees, value by value -------------------------------------------------------

@pytest.mark.parametrize("name", list(FILES))
@settings(max_examples=40)
@given(data=st.data())
def test_every_entry_accepts_and_refuses_the_same_values_with_the_same_message(
        tmp_path_factory, name, data):
    path = data.draw(st.sampled_from(scalar_paths(name)), label="path")
    entries_agree(tmp_path_factory, name, path, data)


@pytest.mark.parametrize("path", [p for p in scalar_paths("every_value")
                                  if not p.startswith("simulation.")])
@settings(max_examples=8)
@given(data=st.data())
def test_every_entry_agrees_on_each_linkage_and_grading_value(tmp_path_factory, path, data):
    """Where values bound each other (cutoffs in order, pre-evaluation thresholds rising),
    path by path."""
    entries_agree(tmp_path_factory, "every_value", path, data)


def entries_agree(tmp_path_factory: pytest.TempPathFactory, name: str, path: str,
                  data: st.DataObject) -> None:
    """A value drawn for ``path``: refused by all five entries with one problem (the one
    table's, when the table refuses it), or accepted by all."""
    sc = scenario(name)
    param = sc.parameters[path]
    current = sc.get(path)
    value = data.draw(values(param.constraint, sc.total, current), label="value")
    folder = tmp_path_factory.mktemp("entries")

    said = {
        "set": refusal(lambda: sc.set({path: value})),
        "--set": refusal(lambda: set_parameters(sc, [f"{path}={yaml_text(value)}"])),
    }
    if not path.startswith("weights."):  # points live in the indicator system's own file
        said["file"] = refusal(lambda: load_scenario(write(sc, folder, {path: value})))
    if value != current:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        pair = [value, current] if not numeric or math.isnan(value) or value < current else [
            current, value]
        said["calibration bounds"] = refusal(lambda: check_bounds(param, pair, scenario=sc))
        said["sensitivity bounds"] = refusal(lambda: params_from_list(
            sc, [{"name": path, "bounds": pair}], "params.yaml"))
    assert len(set(said.values())) == 1, said
    if not param.constraint.accepts(value, sc.total):   # the table's own words
        assert said["set"] == param.constraint.problem(sc.total)


@pytest.mark.parametrize("name", list(FILES))
@settings(max_examples=30)
@given(data=st.data())
def test_get_returns_what_set_set(name, data):
    sc = scenario(name)
    path = data.draw(st.sampled_from(scalar_paths(name)), label="path")
    lo, hi = sc.parameters[path].valid
    value = data.draw(st.floats(lo, hi), label="value")
    try:
        changed = sc.set({path: value})
    except InputError:  # a relation between values (cutoffs in order, ...) refuses it
        assume(False)
    if path.startswith("weights."):  # one group's points, then all rescaled to the total
        total = sum(sc.get("weights"))
        others = total - sc.get(path)
        assume(value + others > 0)
        assert changed.get(path) == pytest.approx(value * total / (value + others), rel=1e-12)
    else:
        assert changed.get(path) == value


@pytest.mark.parametrize("name", list(FILES))
@settings(max_examples=25)
@given(data=st.data())
def test_a_scenario_written_from_its_spec_loads_back_with_every_value(tmp_path_factory, name,
                                                                      data):
    sc = scenario(name)
    paths = [p for p in scalar_paths(name) if not p.startswith("weights.")]
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True),
                       label="paths")
    changes = {p: data.draw(st.floats(*sc.parameters[p].valid), label=p) for p in chosen}
    try:
        changed = sc.set(changes)
    except InputError:
        assume(False)
    back = load_scenario(write(changed, tmp_path_factory.mktemp("spec")))
    back = study(back)
    for path in changed.parameters:
        assert back.get(path) == changed.get(path), path
    assert back.settings == changed.settings and back.linkage == changed.linkage
    assert back.grading == changed.grading


# --- the stale spec of issue 21, by hand --------------------------------------------------------

def test_the_app_computes_with_the_ratio_set_before_the_pool(tmp_path):
    """tests/data/tiny_scores.csv: P1 (95, 1,000 yuan) is the only 优; P2 (70, 2,000) and P5
    (65, 500) are 中, cut by the ratio; P3 (50, 4,000) is 差, cancelled. With the ratio set to
    20% and the pool redistributed, P1 receives 0.2 × 2,000 + 0.2 × 500 + 4,000 = 4,500 yuan
    (at the file's 15% it would be 4,375)."""
    sc = perfsim.load(tiny_scores_scenario(tmp_path))
    view = compute.update(sc.set({"linkage.ratio": 0.2}), {"linkage.pool": "redistribute"},
                          replications=0)
    nxt = view.result.allocations.set_index("project_id")["next_budget"]
    assert nxt["P1"] == 1000 + 0.2 * 2000 + 0.2 * 500 + 4000
    assert nxt["P2"] == 2000 * (1 - 0.2) and nxt["P5"] == 500 * (1 - 0.2)
    assert view.scenario.get("linkage.ratio") == 0.2
    assert view.scenario.spec["linkage"]["ratio"] == 0.2
    assert view.scenario.linkage.pool == "redistribute"


def test_spec_says_what_set_set_and_keeps_what_the_file_wrote(tmp_path):
    sc = scenario("every_value")
    changed = sc.set({"linkage.multipliers.fair": 0.7, "linkage.rectification.probability.poor":
                      0.25, "linkage.preconditions.has_targets.share": 0.4,
                      "grading.cutoffs.good": 75, "simulation.self_evaluation.noise": 0.1})
    link = changed.spec["linkage"]
    assert link["multipliers"] == {"excellent": 1.1, "good": 1.0, "中": 0.7, "poor": 0.0}
    assert link["rectification"]["probability"] == {"fair": 0.8, "差": 0.25}
    assert link["preconditions"] == [{"flag": "has_targets", "consequence": "cut",
                                      "share": 0.4}]
    assert changed.spec["grading"]["cutoffs"] == [90, 75, 60]
    assert changed.spec["simulation"]["self_evaluation"] == {"noise": 0.1}
    assert changed.spec["simulation"]["spot_check"] == {"share": 0.2, "days_budget": 100}
    assert sc.spec["linkage"]["multipliers"]["中"] == 0.9       # the original untouched


# --- the two checks that disagreed, and the choices made ---------------------------------------

@pytest.mark.parametrize("path, value", [
    ("simulation.self_evaluation.noise", 0.7),   # a file accepted it, set refused it
    ("simulation.performance.innovation_sd", 0.6),
    ("linkage.multipliers.good", 2.5),           # a file accepted any multiplier >= 0
    ("linkage.pre_evaluation.noise", 101),       # ... any noise >= 0 points
])
def test_a_file_now_refuses_what_set_refuses(tmp_path, path, value):
    sc = scenario("every_value")
    c = constraint(path)
    with pytest.raises(InputError) as by_file:
        load_scenario(write(sc, tmp_path, {path: value}))
    with pytest.raises(InputError) as by_set:
        sc.set({path: value})
    assert by_file.value.problem == by_set.value.problem == c.problem(100.0)
    assert f"field '{path}' = {value:g}" in str(by_file.value)
    assert str(by_file.value).startswith(str(tmp_path))


def test_the_noise_message_names_the_path_the_value_and_the_range(tmp_path, capsys):
    sc = scenario("every_value")
    with pytest.raises(InputError) as err:
        sc.set({"simulation.self_evaluation.noise": 0.7})
    assert str(err.value) == ("字段 field 'simulation.self_evaluation.noise' = 0.7: "
                              "必须在 [0, 0.5] 内 / must be a number in [0, 0.5] (attainment, sd)")
    code = main(["run", str(FILES["every_value"]), "--set",
                 "simulation.self_evaluation.noise=0.7", "--out", str(tmp_path / "o")])
    line = one_error_line(capsys)
    assert code == 2 and line == ("perfsim: error: --set: 字段 field 'simulation.self_evaluation."
                                  "noise' = 0.7: 必须在 [0, 0.5] 内 / must be a number in "
                                  "[0, 0.5] (attainment, sd)")


def test_set_now_takes_a_rectification_effect_a_file_takes():
    """The effect is a gain of latent performance, a share: [0, 1] as a file had it (the
    registry's 0.5 was arbitrary)."""
    sc = scenario("every_value")
    assert sc.set({"linkage.rectification.effect": 0.7}).get("linkage.rectification.effect") \
        == 0.7


def test_set_refuses_thresholds_a_file_refuses(tmp_path):
    """every_value.yaml: reject 55, postpone 62, reduce 75 points: a reject line of 70 is
    above the postpone line, which no scenario file may hold."""
    sc = scenario("every_value")
    with pytest.raises(InputError) as by_set:
        sc.set({"linkage.pre_evaluation.reject_below": 70})
    with pytest.raises(InputError) as by_file:
        load_scenario(write(sc, tmp_path, {"linkage.pre_evaluation.reject_below": 70}))
    assert by_set.value.problem == by_file.value.problem
    assert "postpone_below (62)" in by_set.value.problem


# --- the table itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("c, yes, no, words", [
    (Constraint(REAL, 0.0, 1.0, (True, False), "share"), [0, 0.5, 0.999], [1.0, -0.0001, True],
     "must be a number in [0, 1) (share)"),
    (Constraint(REAL, 0.0, math.inf, (False, False), "points"), [1e-9, 1e300], [0, math.inf],
     "must be a number > 0 (points)"),
    (Constraint(INT, 1, math.inf, (True, False)), [1, 7], [0, 2.0, True, "3"],
     "must be a whole number >= 1"),
    (Constraint(REAL, 0.0, "total", unit="points"), [0, 93], [93.0001, math.nan],
     "must be a number in [0, 93] (points)"),
    (Constraint(CHOICE, choices=("warn", "suspend")), ["warn"], ["Warn", None, 1],
     "must be one of warn, suspend"),
    (Constraint(BOOL), [True, False], [1, "yes"], "must be true or false"),
    (Constraint(REAL, 0.0, 1.0, optional=True), [None, 0.2], [2], "must be a number in [0, 1], "
                                                                   "or absent (off)"),
])
def test_a_constraint_accepts_and_says_what_it_allows(c, yes, no, words):
    assert all(c.accepts(v, total=93) for v in yes)
    assert not any(c.accepts(v, total=93) for v in no)
    assert c.problem(total=93) == words


def test_every_simulation_setting_has_its_constraint():
    for path, name in PATHS.items():
        if name in ("checkpoints", "ratio_range"):   # pairs, checked as pairs
            continue
        value = getattr(Settings(), name)
        key = f"simulation.{path}" + (".X" if isinstance(value, Mapping) else "")
        assert constraint(key) is not None, path


@pytest.mark.parametrize("file", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_registry_range_is_closed_finite_and_holds_the_bundled_value(file):
    """Calibration's default bounds are the range: both ends must be values it may try."""
    sc = perfsim.load(file)
    for path, par in sc.parameters.items():
        c = par.constraint
        assert c.vary and c.closed == (True, True) and all(map(math.isfinite, par.valid)), path
        for v in np.ravel(sc.get(path)):
            assert c.accepts(float(v), sc.total), (path, v)
