"""The examples of the documentation (docs/: file formats, the researcher's object, weighting,
Monte Carlo settings) load, score and run as documented."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from docs_pages import all_text

from perfsim.errors import InputError
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.run.year import run_year

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    text = all_text()
    found = re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S)
    assert {name for name, _ in found} >= {"system.yaml", "portfolio.csv", "scenario.yaml",
                                           "table.yaml", "table.csv", "generated.yaml"}
    folder = tmp_path_factory.mktemp("readme")
    for name, body in found:
        (folder / name).write_text(body, encoding="utf-8")
    return folder


def test_system_example(examples):
    system = load_indicator_system(examples / "system.yaml")
    assert system.codes == ("OUT.QTY", "OUT.LATE", "SAT")
    assert system.total == 100 and system.bonus_cap == 5


def test_portfolio_example_scores_by_hand(examples):
    system = load_indicator_system(examples / "system.yaml")
    pf = load_portfolio(examples / "portfolio.csv", system)
    score = system.score(pf.measurements())
    # P1: 40 + 20 + 40 = 100, bonus 2 -> 102
    # P2: 40*0.85 = 34; 12 days late -> 2 complete steps of 5 -> 20-2 = 18; 基本满意 0.8*40 = 32
    # P3: 40*0.6 = 24; 30 days -> 6 steps -> 14; 不满意 0
    np.testing.assert_allclose(score, [102.0, 84.0, 38.0])


def test_scenario_example_runs(examples):
    result = run_year(load_scenario(examples / "scenario.yaml"))
    alloc = result.allocations.set_index("project_id")
    # grades: P1 102 -> 优, P2 84 -> 良, P3 -> 差 (and no targets)
    assert list(alloc["grade_zh"]) == ["优", "良", "差"]
    # P3 cancelled (500,000 saved) and redistributed to the only 优 project, P1
    assert alloc.loc["P3", "next_budget"] == 0
    assert alloc.loc["P1", "next_budget"] == pytest.approx(1_700_000)
    assert alloc["next_budget"].sum() == pytest.approx(2_500_000)


def test_simulation_example(examples):
    import yaml

    from perfsim.model.settings import settings_from_dict

    doc = yaml.safe_load((examples / "simulation.yaml").read_text(encoding="utf-8"))
    s = settings_from_dict(doc["simulation"])
    assert (s.years, s.replications, s.check_share, s.check_selection) == (
        5, 1000, 0.2, "highest_score")
    assert s.checkpoints == ((0.5, 0.3), (0.75, 0.5))
    assert s.ratio_range == (0.10, 0.20) and s.gap_rule


def test_weighting_example_by_hand(examples):
    import math

    sc = load_scenario(examples / "weighting.yaml")
    pts = dict(zip(sc.system.codes, sc.system.points, strict=True))
    # groups: AHP [[1, 2], [1/2, 1]] -> OUT 2/3, SAT 1/3 of 100 points
    assert pts["SAT"] == pytest.approx(100 / 3)
    # leaves of OUT, entropy over the three projects (ln 3 normaliser):
    # OUT.QTY 100, 85, 60 (benefit): y = 1, 0.625, 0 -> p = 8/13, 5/13, 0
    # OUT.LATE 0, 12, 30 days (a deduct rule: cost): y = 1, 0.6, 0 -> p = 5/8, 3/8, 0
    def divergence(p):
        return 1 + sum(x * math.log(x) for x in p) / math.log(3)

    d_qty, d_late = divergence([8 / 13, 5 / 13]), divergence([5 / 8, 3 / 8])
    assert pts["OUT.QTY"] == pytest.approx(200 / 3 * d_qty / (d_qty + d_late))
    assert pts["OUT.LATE"] == pytest.approx(200 / 3 * d_late / (d_qty + d_late))
    assert sc.system.total == 100 and sum(pts.values()) == pytest.approx(100)


def test_python_example_runs_as_written(examples, monkeypatch, capsys):
    # the researcher's example, executed from the repository root as its page says
    monkeypatch.chdir(ROOT)
    code = (examples / "study.py").read_text(encoding="utf-8")
    exec(compile(code, "docs study.py", "exec"), {})
    out = capsys.readouterr().out
    cut = float(re.search(r"cut ([0-9,]+) yuan", out).group(1).replace(",", ""))
    assert cut == pytest.approx(128e6, rel=0.05)  # the calibrated generator, not a pin
    ratio = float(re.search(r"linkage.ratio = ([0-9.]+)", out).group(1))
    assert ratio == pytest.approx(0.15, abs=0.005)


def test_table_example_scores_as_the_readme_says(examples, tmp_path):
    # the published-table example: rounding, over-completion, started periods, assessed
    # bands, the excess reading of the gap rule, not applicable (average), blank (zero and
    # imputed), not submitted
    (examples / "table_scenario.yaml").write_text(
        "name: table\nindicator_system: table.yaml\nportfolio: {file: table.csv}\n",
        encoding="utf-8")
    y = run_year(load_scenario(examples / "table_scenario.yaml"))
    assert y.allocations["score"].tolist() == [84.0, 84.5, 37.5, 46.5]
    assert y.cells[["project_id", "code", "treatment", "points"]].values.tolist() == [
        ["T2", "REV", "average of the others", 7.5], ["T3", "QTY", "zero", 0.0],
        ["T4", "QTY", "not submitted: 0", 0.0], ["T4", "REV", "impute: department median", 5.0]]
    system = load_indicator_system(examples / "table.yaml")
    text = (examples / "table.csv").read_text(encoding="utf-8")
    for bad, words in ((text.replace("T3,Health,200000,,12", "T3,Health,200000,,"),
                        ["row 4", "'LATE'", "missing value"]),
                       (text.replace("18,好", "18,中"), ["row 2", "'QUAL' = 18", "band 中"]),
                       (text.replace("18,好", "21,"), ["row 2", "'QUAL' = 21", "[0, 20]"])):
        (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
        with pytest.raises(InputError) as info:
            load_portfolio(tmp_path / "bad.csv", system)
        assert all(w in str(info.value) for w in words), str(info.value)


def test_generated_example_meets_its_calibration_target(examples):
    sc = load_scenario(examples / "generated.yaml")
    pf = sc.portfolio
    assert pf.calibration["solve"] == "performance_mean" and pf.n_projects == 500
    grade = sc.grading.grade(pf.scores)
    share = pf.budget[grade == 2].sum() / pf.budget.sum()
    # as closely as one project's budget allows
    assert abs(share - 0.04) <= pf.budget.max() / pf.budget.sum()
    assert abs(pf.budget.sum() - 3e9) < 500 * 0.005
