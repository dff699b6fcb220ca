"""An imported folder runs as a portfolio: each project with its own leaves under the shared
framework, scored by each leaf's own rule on padded arrays, gives the very grades and money
of a hand-written indicator system and portfolio for the same tables; the Monte Carlo with
noise off is the one-year run; bad folders give one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line
from forms_tables import Table, workbook

import perfsim
from perfsim.analyse.departments import department_profiles
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.measurement import CellSpace
from perfsim.kernel.scoring import CELL_KINDS, cell_attain_latent, cell_attainment
from perfsim.model.imported import load_imported
from perfsim.model.params import current_value, parameters
from perfsim.run.sensitivity import evaluate_samples

K = {k: i for i, k in enumerate(CELL_KINDS)}


def leaves(area, rate, done, cost, printed_condition, satisfaction):
    """One leaf structure (six leaves + execution 10 = 100 points), actuals as written."""
    return [
        ("产出指标", "数量指标", "新增灌溉面积", "≥1.2万亩", area, 20, 20),
        ("产出指标", "质量指标", "工程验收合格率", "≥95%", rate, 20, 20),
        ("产出指标", "时效指标", "完工时间", "2023年10月底前", done, 10, 10),
        ("产出指标", "成本指标", "工程总成本", "≤900万元", cost, 10, 10),
        ("效益指标", "社会效益指标", "农业生产条件", "有所提高", "有所提高", 20,
         printed_condition),
        ("满意度指标", "服务对象满意度指标", "受益农户满意度", "≥90%", satisfaction, 10, 10),
    ]


#: three tables of one structure: (file, department, funds in 万元, actuals, printed 社会效益)
TABLES = [
    ("a.xlsx", "县农业农村局", (100, 120, 90), ("1.25万亩", "90%", "2023年9月", "937.5万元", 16,
                                            "95%")),
    ("b.xlsx", "县水利局", (500, 800, 600), ("1.1万亩", "96%", "2023年11月", "850万元", 12,
                                          "85%")),
    ("c.xlsx", "县农业农村局", (50, 60, 30), ("1.3万亩", "80%", "2023年9月", "1000万元", 18,
                                          "70%")),
]

#: the same tables by hand: the system the template rule is, and one row of values per
#: table (area in 亩, rates in %, deadline met 1/0, cost in yuan, the assessor's points,
#: the execution rate 全年执行数 ÷ 全年预算数)
SYSTEM = """
code: irrigation
name: {zh: 农田水利, en: Irrigation}
total: 100
rounding: {leaf: 2, total: 2}
indicators:
  - code: OUT
    name: 产出指标
    children:
      - {code: area, name: 新增灌溉面积, points: 20, target: 12000, direction: higher,
         rule: {kind: proportional}}
      - {code: rate, name: 工程验收合格率, points: 20, target: 95, direction: higher,
         rule: {kind: proportional}}
      - {code: done, name: 完工时间, points: 10, target: 1, rule: {kind: threshold}}
      - {code: cost, name: 工程总成本, points: 10, target: 9000000, direction: lower,
         rule: {kind: proportional}}
  - code: BEN
    name: 效益指标
    children:
      - {code: condition, name: 农业生产条件, points: 20, rule: {kind: assessed}}
  - code: SAT
    name: 满意度指标
    children:
      - {code: satisfaction, name: 受益农户满意度, points: 10, target: 90, direction: higher,
         rule: {kind: proportional}}
  - code: EXE
    name: 预算执行
    children:
      - {code: execution, name: 预算执行率, points: 10, target: 1,
         rule: {kind: execution_rate}}
"""
HAND = """project_id,department,budget,area,rate,done,cost,condition,satisfaction,execution
a.xlsx:Sheet1,县农业农村局,1200000,12500,90,1,9375000,16,95,0.75
b.xlsx:Sheet1,县水利局,8000000,11000,96,0,8500000,12,85,0.75
c.xlsx:Sheet1,县农业农村局,600000,13000,80,1,10000000,18,70,0.5
"""
SCENARIO = """
name: {name}
seed: 5
{system}
portfolio: {portfolio}
grading: {{labels: national, cutoffs: [90, 80, 60]}}
linkage: {{rule: liupanshui, ratio: 0.15, pool: treasury}}
"""


def tables(folder, extra=()):
    for file, dep, funds, actual in TABLES:
        workbook(folder / file, Table(leaves=leaves(*actual), total=100, department=dep,
                                      funds=funds, exec_score=10))
    for file, table in extra:
        workbook(folder / file, table)


def imported(tmp_path, name="imp", extra=(), scores=None):
    src = tmp_path / f"{name}_in"
    tables(src, extra)
    out = tmp_path / f"{name}_out"
    assert main(["import", str(src), "--out", str(out)]) == 0
    spec = f"{{imported: {out.name}" + (f", scores: {scores}" if scores else "") + "}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(SCENARIO.format(name=name, system="", portfolio=spec), encoding="utf-8")
    return path, out


def by_hand(tmp_path):
    (tmp_path / "irrigation.yaml").write_text(SYSTEM, encoding="utf-8")
    (tmp_path / "hand.csv").write_text(HAND, encoding="utf-8")
    path = tmp_path / "hand.yaml"
    path.write_text(SCENARIO.format(name="hand", system="indicator_system: irrigation.yaml",
                                    portfolio="{file: hand.csv}"), encoding="utf-8")
    return path


COLUMNS = ["project_id", "department", "score", "grade", "budget", "multiplier",
           "next_budget", "kept", "cut", "cancelled", "rewarded", "status"]


def test_an_imported_folder_runs_as_the_hand_written_system_and_portfolio(tmp_path):
    path, _ = imported(tmp_path)
    mine = perfsim.load(path).run_year()
    hand = perfsim.load(by_hand(tmp_path)).run_year()
    pd.testing.assert_frame_equal(mine.allocations[COLUMNS], hand.allocations[COLUMNS])
    assert mine.metrics == hand.metrics
    # by hand: 甲 20 + 18.95 + 10 + 9.60 + 16 + 10 + 7.5 = 92.05 (优);
    # 乙 18.33 + 20 + 0 + 10 + 12 + 9.44 + 7.5 = 77.27 (中, cut 15% of 8,000,000);
    # 丙 20 + 16.84 + 10 + 9 + 18 + 7.78 + 5 = 86.62 (良)
    assert mine.allocations["score"].tolist() == [92.05, 77.27, 86.62]
    assert mine.allocations["grade"].tolist() == ["excellent", "fair", "good"]
    assert mine.allocations["cut"].tolist() == pytest.approx([0.0, 1_200_000.0, 0.0], abs=0.005)


def test_tables_with_other_leaves_run_beside_them_padded(tmp_path):
    short = Table(leaves=[("产出指标", "数量指标", "培训人次", "≥200人次", "150人次", 50, 50),
                          ("产出指标", "质量指标", "结业合格率", "＝100%", "100%", 10, 10),
                          ("满意度指标", "服务对象满意度指标", "学员满意度", "≥90%", "99%", 30,
                           30)],
                  total=100, project="技能培训", department="县人社局", funds=(10, 10, 10),
                  exec_score=10)
    path, out = imported(tmp_path, extra=[("d.xlsx", short)])
    year = perfsim.load(path).run_year()
    hand = perfsim.load(by_hand(tmp_path)).run_year()
    rows = year.allocations.set_index("project_id")
    pd.testing.assert_frame_equal(rows.loc[hand.allocations["project_id"], COLUMNS[1:]]
                                  .reset_index(), hand.allocations[COLUMNS])
    # 150/200 × 50 = 37.5, ＝100% met 10 (its "=" written escaped, '=), 30, execution 10/10
    # × 10 = 10: 87.5 (良)
    assert rows.loc["d.xlsx:Sheet1", "score"] == 87.5
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig").set_index("project_id")
    assert rows["score"].to_dict() == projects["recomputed_total"].to_dict()


def test_printed_scores_on_request(tmp_path):
    path, _ = imported(tmp_path, scores="printed")
    year = perfsim.load(path).run_year()
    # the printed rows: 20 + 20 + 10 + 10 + assessed + 10 + execution 10
    assert year.allocations["score"].tolist() == [96.0, 92.0, 98.0]


@pytest.mark.parametrize("blank, where", [("leaf", "leaves.csv"),
                                           ("execution", "projects.csv")])
def test_printed_scores_refuse_a_blank_score(tmp_path, capsys, blank, where):
    # a row with points and no printed 得分 is not scored 0 under scores: printed
    rows = [("产出指标", "数量指标", "培训人次", "≥200人次", "150人次", 90,
             None if blank == "leaf" else 67.5)]
    t = Table(leaves=rows, total=None, funds=(10, 10, 10),
              exec_score=None if blank == "execution" else 10)
    path, out = imported(tmp_path, extra=[("d.xlsx", t)], scores="printed")
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    line = one_error_line(capsys)
    assert where in line and ("printed_score" if blank == "leaf" else "exec_score") in line
    assert "scores: recomputed" in line and "为空" in line
    frame = pd.read_csv(out / where, encoding="utf-8-sig")
    row = int(line.split("row ")[1].split(":")[0])
    field = "printed_score" if blank == "leaf" else "exec_score"
    assert np.isnan(frame[field].iloc[row - 2])   # the row named is the blank one


@pytest.mark.parametrize("space", ["measurement", "attainment"])
def test_the_monte_carlo_without_noise_is_the_one_year_run(tmp_path, space):
    path, _ = imported(tmp_path, extra=[("d.xlsx", Table(
        leaves=[("产出指标", "数量指标", "培训人次", "≥200人次", "150人次", 90, 90)], total=100,
        funds=(10, 10, 10), exec_score=10))])
    sc = perfsim.load(path).set({"simulation.performance.space": space})
    year = sc.run_year()
    row = sc.simulate(replications=2, years=1, noise=False).replications.iloc[0]
    for name in ("savings", "cut_total", "next_total", "count_excellent", "count_fair",
                 "count_good"):
        assert row[name] == year.metrics[name], name


def test_entrants_in_the_monte_carlo_bring_their_own_leaves(tmp_path):
    # A: 200 of 200 persons, 90 points, execution 10 of 10: 100 (优). B: 0.6 of 1.2万亩 of 40
    # points, 90% of 90% of 50, execution 5/10 of 10: 20 + 50 + 5 = 75 (中). An entrant is a
    # copy of A or B; scored with the other's points B would earn 45 + 10 = 55 (差).
    a = Table(leaves=[("产出指标", "数量指标", "培训人次", "≥200人次", "200人次", 90, 90)],
              total=100, funds=(10, 10, 10), exec_score=10)
    b = Table(leaves=[("产出指标", "数量指标", "新增灌溉面积", "≥1.2万亩", "0.6万亩", 40, 40),
                      ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "90%", 50, 50)],
              total=100, funds=(10, 10, 5), exec_score=10)
    src, out = tmp_path / "in", tmp_path / "out"
    workbook(src / "a.xlsx", a)
    workbook(src / "b.xlsx", b)
    assert main(["import", str(src), "--out", str(out)]) == 0
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name="s", system="", portfolio="{imported: out}"),
                    encoding="utf-8")
    sc = perfsim.load(path)
    assert sc.run_year().allocations["score"].tolist() == [100.0, 75.0]
    run = sc.set({"simulation.dynamics.entry_rate": 1.0}).simulate(replications=4, years=2,
                                                                   noise=False)
    second = run.replications[run.replications["year"] == 2]
    assert (second["projects"] == 4).all()
    assert (second["count_excellent"] + second["count_fair"] == 4).all()
    assert set(second["count_excellent"]) > {2}   # some rows drew A twice or B twice


def test_a_sensitivity_sample_at_the_current_values_is_the_one_year_run(tmp_path):
    path, _ = imported(tmp_path)
    sc = perfsim.load(path)
    quiet = sc.replace(settings=sc.settings.without_noise())
    names = ["linkage.ratio", "grading.cutoffs.fair", "simulation.spot_check.share"]
    x = np.array([[current_value(quiet, parameters(quiet)[n]) for n in names]])
    metrics = ["savings", "next_total", "count_excellent", "count_good", "count_fair"]
    y = evaluate_samples(sc, names, x, metrics=metrics, settings=quiet.settings)
    year = sc.run_year()
    assert y[0].tolist() == [year.metrics[m] for m in metrics]


def test_calibration_solves_the_ratio_on_an_imported_folder(tmp_path):
    path, _ = imported(tmp_path)
    sc = perfsim.load(path)
    solved = sc.calibrate("linkage.ratio", cut_total=1_600_000.0)
    # 乙 alone is rated 中: its 8,000,000 yuan cut by 20% is 1,600,000
    assert solved.value == pytest.approx(0.2, abs=1e-9)


def test_measure_with_each_projects_own_points():
    a = np.array([[1.0, 0.5, 1.0], [0.25, 1.0, 1.0]])
    own = np.array([[60.0, 40.0, 0.0], [30.0, 30.0, 40.0]])  # the first padded after 2 leaves
    m = Measure(points=own.mean(axis=0), span=np.ones(3), cells=own, leaf_decimals=2,
                total_decimals=2)
    # 60 + 20 (padding scores nothing); 7.5 + 30 + 40
    assert m.score(a[None]).tolist() == [[80.0, 77.5]]
    rows = (np.array([0, 0]), np.array([1, 0]))
    assert m.score_rows(a[[1, 0]], rows).tolist() == [77.5, 80.0]
    per_slot = Measure(points=own.mean(axis=0), span=np.ones(3), cells=np.stack([own, own[::-1]]))
    assert per_slot.score(np.stack([a, a[::-1]])).tolist() == [[80.0, 77.5], [77.5, 80.0]]
    assert per_slot.at(slice(1, 2)).score(a[None, ::-1]).tolist() == [[77.5, 80.0]]
    assert m.share(a).tolist() == [0.8, 0.775]


def test_each_cell_scores_by_its_own_rule():
    kind = np.array([[K["proportional"], K["proportional"], K["threshold"], K["pad"]],
                     [K["level"], K["assessed"], K["execution"], K["proportional"]]])
    direction = np.array([[0, 1, 0, 0], [0, 0, 0, 2]])
    target = np.array([[95.0, 900.0, 0, 0], [0, 0, 0, 50.0]])
    value = np.array([[90.0, 1000.0, 1.0, 7.0], [0.8, 25.0, 1.2, 40.0]])
    points = np.array([[20.0, 10, 10, 0], [20, 20, 10, 10]])
    got = cell_attainment(kind, direction, target, value, points)
    # 90/95; 900/1000; met; padding 0 / level 0.8; 25 of 20 points capped; rate capped at 1;
    # 1 − |40 − 50|/50
    assert got.tolist() == [[90 / 95, 0.9, 1.0, 0.0], [0.8, 1.0, 1.0, 0.8]]


def test_measurement_space_moves_each_cells_value_by_its_own_rule():
    kind = np.array([K["proportional"], K["proportional"], K["threshold"], K["level"],
                     K["execution"], K["assessed"]])
    direction = np.array([0, 1, 0, 0, 0, 0])
    target = np.array([100.0, 900.0, 0, 0, 0, 0])
    value = np.array([120.0, 800.0, 1.0, 0.8, 1.2, 15.0])
    base = np.array([1.0, 1.0, 1.0, 0.8, 1.0, 0.75])
    change = np.array([-0.1, -0.2, -0.01, -0.1, -0.1, 0.05])
    got = cell_attain_latent(kind, direction, target, value, base, base + change)
    # 120 − 100 × 0.1 = 110 ≥ 100: still full; 800 + 900 × 0.2 = 980 → 900/980; 0.99 misses
    # the threshold; a level stays a share (0.7); the rate 1.2 − 0.1 = 1.1: full; assessed
    # 0.75 + 0.05
    assert got.tolist() == [1.0, 900 / 980, 0.0, 0.8 - 0.1, 1.0, 0.8]
    assert cell_attain_latent(kind, direction, target, value, base, base).tolist() == \
        base.tolist()
    space = CellSpace(kind=kind[None], direction=direction[None], target=target[None],
                      value=value[None], base=base[None])
    assert space.attain((base + change)[None, None]).tolist() == [[got.tolist()]]


def test_a_folder_without_the_import_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name="s", system="", portfolio="{imported: empty}"),
                    encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert "projects.csv" in line and "file not found" in line
    with pytest.raises(InputError, match="scores"):
        load_imported(tmp_path / "empty", scores="guessed")


def test_what_an_imported_portfolio_does_not_simulate_yet_is_refused(tmp_path):
    path, _ = imported(tmp_path)
    sc = perfsim.load(path)
    for change, field in (({"simulation.uncertainty.weights": "dirichlet"}, "weights"),
                          ({"simulation.targets.set_by": "ambition"}, "targets")):
        with pytest.raises(InputError, match=field):
            sc.set(change).simulate(replications=1, years=1)
    hand = tmp_path / "with_system.yaml"
    by_hand(tmp_path)
    hand.write_text(SCENARIO.format(name="w", system="indicator_system: irrigation.yaml",
                                    portfolio="{imported: imp_out}"), encoding="utf-8")
    with pytest.raises(InputError, match="indicator_system"):
        perfsim.load(hand)


def test_departments_are_compared_at_the_level_the_leaves_share(tmp_path):
    path, _ = imported(tmp_path)
    sc = perfsim.load(path)
    output = [(20 + 90 / 95 * 20 + 10 + 9.6) / 60, (11 / 12 * 20 + 20 + 0 + 10) / 60,
              (20 + 80 / 95 * 20 + 10 + 9) / 60]
    shares = sc.portfolio.shares("level1")
    assert list(shares.columns) == ["产出指标", "效益指标", "满意度指标", "预算执行"]
    np.testing.assert_allclose(shares["产出指标"], output, rtol=1e-12)
    np.testing.assert_allclose(shares["效益指标"], [16 / 20, 12 / 20, 18 / 20], rtol=1e-12)
    np.testing.assert_allclose(shares["预算执行"], [0.75, 0.75, 0.5], rtol=1e-12)
    profiles = department_profiles(sc, sc.run_year())
    rows = profiles.indicators.set_index(["department", "code"])
    assert rows.loc[("县水利局", "产出指标"), "difference_pp"] == pytest.approx(
        (output[1] - np.mean(output)) * 100, abs=1e-9)
    water = profiles.summary.set_index("department").loc["县水利局"]
    # 县水利局 (b) against the mean: 产出 −9.8, 效益 60 − 76.7 = −16.7, 满意度 94.4 − 90.7 = +3.7,
    # 执行 75 − 66.7 = +8.3 (percentage points)
    assert (water["strongest"], water["weakest"]) == ("预算执行", "效益指标")


def test_department_tables_are_left_out_and_rows_named_as_in_the_file(tmp_path):
    dept = Table(leaves=[("产出指标", "数量指标", "年度任务", "≥10项", "10项", 90, 90)],
                 total=100, form="department", department="县农业农村局", exec_score=10)
    _, out = imported(tmp_path, extra=[("0部门.xlsx", dept)])
    assert load_imported(out).n_projects == 3    # a, b, c; not the department's own table
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig", dtype=str,
                           keep_default_na=False)
    assert projects["form"].tolist() == ["department", "project", "project", "project"]
    projects.loc[3, "budget_full"] = ""           # c's, row 5 of the file
    projects.to_csv(out / "projects.csv", index=False, encoding="utf-8-sig")
    with pytest.raises(InputError) as err:
        load_imported(out)
    assert "projects.csv: 第 5 行 row 5: 字段 field 'budget_full'" in str(err.value)


def test_a_bad_number_names_the_file_row_and_column(tmp_path):
    _, out = imported(tmp_path)
    leaves_csv = pd.read_csv(out / "leaves.csv", encoding="utf-8-sig", dtype=str,
                             keep_default_na=False)
    leaves_csv.loc[3, "points"] = "十"
    leaves_csv.to_csv(out / "leaves.csv", index=False, encoding="utf-8-sig")
    with pytest.raises(InputError) as err:
        load_imported(out)
    assert "leaves.csv: 第 5 行 row 5: 字段 field 'points' = '十'" in str(err.value)
