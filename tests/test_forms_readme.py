"""docs/tasks/import.md, importing self-evaluation tables: the levels example loads, every line
of the parsing-rules table reads as it says, and the four CSV heads are what the command writes."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from docs_pages import page
from forms_tables import CLEAN_LEAVES, Table, workbook
from test_forms_score import PLANTED

from perfsim.cli import main
from perfsim.forms.targets import Reading, load_levels, read_value

ROOT = Path(__file__).resolve().parent.parent
README = page("tasks/import.md")
SYMBOL = {">=": "≥", "<=": "≤", "=": "=", ">": ">", "<": "<"}


def shown(r: Reading) -> str:
    """A reading as the rules table of docs/tasks/import.md writes it."""
    if r.kind == "number":
        op = f"{SYMBOL[r.op]} " if r.op else ""
        return f"{op}{r.value:.10g} {r.unit}".strip()
    if r.kind == "date":
        day = dt.date.fromordinal(int(r.value)).isoformat()
        return f"date {SYMBOL[r.op]} {day}" if r.op else f"date {day}"
    if r.kind == "yesno":
        return "yes" if r.value == 1.0 else "no"
    if r.kind == "level":
        return f"level {r.value:g}"
    return r.kind


def test_the_levels_example_loads(tmp_path):
    (body,) = re.findall(r"<!-- example: levels.yaml -->\n```yaml\n(.*?)```", README, re.S)
    path = tmp_path / "levels.yaml"
    path.write_text(body, encoding="utf-8")
    levels = load_levels(path)
    assert levels["部分改善"] == 0.6 and levels["较好"] == 0.8 and len(levels) == 7
    assert read_value("部分改善", levels).value == 0.6


def test_every_parsing_rule_in_the_readme_reads_as_it_says():
    (block,) = re.findall(r"<!-- rules: targets -->\n(.*?)\n\n", README, re.S)
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", block, re.M)
    assert len(rows) >= 15
    levels = load_levels()
    for written, read_as in rows:
        expected = read_as.split(" (")[0].split(":")[0].strip()
        assert shown(read_value(written, levels)) == expected, written


#: The department-overall table of docs/tasks/import.md: 基本支出/项目支出 lines and three
#: 年度主要任务 (万元).
DEPARTMENT = Table(
    leaves=list(CLEAN_LEAVES), total=93.75, form="department", department="县林业局",
    funds=(800, 1000, 920), exec_score=9.2,
    lines={"基本支出": (300, 320, 318.5), "项目支出": (500, 680, 601.5)},
    tasks=[("保障机构正常运转", "人员工资及日常公用经费", 320, 318.5, "已完成"),
           ("造林绿化", "完成人工造林1.2万亩", 450, 402.3, "基本完成"),
           ("森林防火", "防火道及瞭望塔维护", 230, 199.2, "基本完成")])


def test_the_csv_heads_are_what_the_command_writes(tmp_path, monkeypatch):
    folder = tmp_path / "自评表"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "forms" / "selfeval_clean.xls", folder / "水利站.xls")
    layout, _ = PLANTED["grade_changes"]
    workbook(folder / "乡村道路.xlsx", Table(**layout, project="乡村道路硬化",
                                            department="县交通运输局", unit="县公路管理段",
                                            funds=(400, 600, 450)))
    workbook(folder / "林业局.xlsx", DEPARTMENT)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "自评表", "--out", "复核"]) == 0
    heads = dict(re.findall(r"<!-- output: (\S+) -->\n```csv\n(.*?)```", README, re.S))
    assert set(heads) == {"projects.csv", "leaves.csv", "tasks.csv", "findings.csv"}
    for name, body in heads.items():
        lines = body.splitlines()
        written = (tmp_path / "复核" / name).read_text(encoding="utf-8-sig").splitlines()
        assert written[:len(lines)] == lines, name
