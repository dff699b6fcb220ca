"""The limits of perfsim.limits: hostile YAML (billion laughs, recursive aliases, deep nesting,
huge files) and runs too large for memory are refused with one bilingual line, exit status 2,
before any work; YAML numbers in exponent form are numbers; the bundled files load as before."""

from __future__ import annotations

import dataclasses
import json
import re
import tracemalloc
from pathlib import Path

import pytest
import yaml
from conftest import DATASETS, SCENARIOS, one_error_line, tiny_scores_scenario

import perfsim
from perfsim import limits
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.model.scenario import load_scenario
from perfsim.model.streams import BLOCK
from perfsim.run import simulate as simulate_module
from perfsim.run.simulate import (
    build_inputs,
    chunk_blocks,
    metric_names,
    scenario_settings,
    simulate,
)
from perfsim.yamlfile import parse_yaml, read_yaml

MEMORY_LINE = re.compile(r"需要约 (?P<x>[\d,.]+) GiB 内存，超过上限 (?P<y>[\d,.]+) GiB / "
                         r"would need about (?P=x) GiB, above the limit (?P=y) GiB \(set "
                         r"PERFSIM_MAX_MEMORY_GIB to change\)$")


def refused(capsys, *argv: object) -> str:
    """``perfsim *argv`` must exit 2 with one ``perfsim: error:`` line; the line."""
    code = main([str(a) for a in argv])
    line = one_error_line(capsys)
    assert code == 2, line
    return line


def gib_of(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture
def no_simulation(monkeypatch):
    """The Monte Carlo must not start: its engine fails the test if called."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the Monte Carlo started")

    monkeypatch.setattr(simulate_module, "run_engine", forbidden)


# --- YAML: every bundled file loads as before -------------------------------------------------

BUNDLED_YAML = sorted([*DATASETS.rglob("*.yaml"), *DATASETS.rglob("*.yml")])


def test_there_are_bundled_yaml_files():
    assert len(BUNDLED_YAML) >= 20


@pytest.mark.parametrize("path", BUNDLED_YAML, ids=lambda p: p.relative_to(DATASETS).as_posix())
def test_every_bundled_yaml_file_loads_as_pyyaml_reads_it(path):
    assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_file_saved_on_windows_loads_the_same(tmp_path):
    """A byte-order mark and CRLF line ends (Notepad) change nothing."""
    src = (DATASETS / "indicator_systems" / "wenzhou_2013.yaml").read_text(encoding="utf-8")
    path = tmp_path / "windows.yaml"
    path.write_bytes(("\ufeff" + src).replace("\n", "\r\n").encode("utf-8"))
    assert read_yaml(path) == yaml.safe_load(src)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_still_loads(path):
    assert load_scenario(path).name


# --- YAML: hostile files ----------------------------------------------------------------------

def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_file_is_refused_on_the_line_where_it_passes_the_limit(capsys,
                                                                                   tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    line = refused(capsys, "run", path, "--out", tmp_path / "out")
    # level k (line k + 1) stands for 9^(k+1) strings: 9^6 = 531,441 fit under 1,000,000 nodes,
    # 9^7 = 4,782,969 do not, so the list on line 7 is the first too large
    assert line == (f"perfsim: error: {path}: 第 7 行 line 7: YAML 文档展开后超过 1,000,000 个节点"
                    "（别名每次引用都计入） / YAML document expands to more than 1,000,000 nodes "
                    "(aliases counted at every use; set PERFSIM_MAX_YAML_NODES to change)")
    assert not (tmp_path / "out").exists()


def test_the_node_limit_counts_every_use_of_an_alias(monkeypatch):
    # 1 mapping + key and list (2) + 3 uses of a 3-node list ([1, 2]: list and two numbers)
    text = "x: &x [1, 2]\ny: [*x, *x]\n"
    # mapping 1 + "x" 1 + [1, 2] 3 + "y" 1 + [*x, *x] (1 + 3 + 3) = 13 nodes
    monkeypatch.setenv("PERFSIM_MAX_YAML_NODES", "13")
    assert parse_yaml(text) == {"x": [1, 2], "y": [[1, 2], [1, 2]]}
    monkeypatch.setenv("PERFSIM_MAX_YAML_NODES", "12")
    with pytest.raises(InputError, match="more than 12 nodes"):
        parse_yaml(text)


def test_a_recursive_alias_is_refused(capsys, tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: loop\nportfolio: &p\n  file: x.csv\n  again: *p\n", encoding="utf-8")
    line = refused(capsys, "run", path)
    assert line == (f"perfsim: error: {path}: 第 4 行 line 4: 值 value '*p': "
                    "YAML 别名位于它所引用的节点之内（结构无穷无尽） / "
                    "YAML alias inside the node it refers to (a structure without end)")


@pytest.mark.parametrize("style, depth", [("flow", 10_000), ("block", 1_000)])
def test_deep_nesting_is_refused(capsys, tmp_path, style, depth):
    """Deep enough to exhaust Python's recursion in PyYAML's own composer (two calls a level);
    block style 1,000 deep only, the indentation of 10,000 levels being above the size
    limit."""
    path = tmp_path / "deep.yaml"
    if style == "flow":
        text = "name: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join(" " * k + "- \n" for k in range(depth))
    path.write_text(text, encoding="utf-8")
    line = refused(capsys, "run", path)
    assert line.startswith(f"perfsim: error: {path}: 第 ")
    assert line.endswith(": YAML 嵌套超过 100 层 / YAML nesting deeper than 100 levels (set "
                         "PERFSIM_MAX_YAML_DEPTH to change)")


def test_the_depth_limit_admits_its_own_depth(monkeypatch):
    monkeypatch.setenv("PERFSIM_MAX_YAML_DEPTH", "5")
    assert parse_yaml("[[[[1]]]]") == [[[[1]]]]          # 5 levels: four lists and the number
    with pytest.raises(InputError, match="deeper than 5 levels"):
        parse_yaml("[[[[[1]]]]]")


def test_the_depth_limit_cannot_be_raised_past_what_python_recursion_allows(capsys, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("PERFSIM_MAX_YAML_DEPTH", "1000")
    line = refused(capsys, "run", tiny_scores_scenario(tmp_path))
    assert line == ("perfsim: error: 字段 field 'PERFSIM_MAX_YAML_DEPTH' = '1000': 必须 ≤ 500 / "
                    "must be <= 500")


def test_a_huge_file_is_refused_before_it_is_read(capsys, tmp_path, monkeypatch):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:   # sparse: 17 MiB of nothing, above the default 16 MiB
        fh.truncate(17 * 2**20)
    opened = []
    real_open = Path.open

    def watch(self, *args, **kwargs):
        if self == path:
            opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", watch)
    line = refused(capsys, "run", path)
    assert line == (f"perfsim: error: {path}: YAML 文件 17.0 MiB，超过上限 16 MiB / YAML file of "
                    "17.0 MiB, above the limit 16 MiB (set PERFSIM_MAX_YAML_MIB to change)")
    assert not opened


def test_the_file_size_limit_follows_its_environment_variable(capsys, tmp_path, monkeypatch):
    path = tiny_scores_scenario(tmp_path)
    size = path.stat().st_size
    monkeypatch.setenv("PERFSIM_MAX_YAML_MIB", str(size / 2**20))
    assert read_yaml(path)["name"] == "tiny"
    monkeypatch.setenv("PERFSIM_MAX_YAML_MIB", str((size - 1) / 2**20))
    line = refused(capsys, "run", path)
    assert "above the limit" in line and "PERFSIM_MAX_YAML_MIB" in line


def test_an_integer_of_thousands_of_digits_is_one_line(capsys, tmp_path):
    path = tiny_scores_scenario(tmp_path, extra="simulation: {years: " + "9" * 5000 + "}\n")
    line = refused(capsys, "run", path)
    assert line.startswith(f"perfsim: error: {path}: 无法解析 YAML 值 / cannot parse a YAML "
                           "value (")


def test_a_set_value_nested_too_deep_is_one_line_naming_it(capsys, tmp_path):
    path = tiny_scores_scenario(tmp_path)
    line = refused(capsys, "run", path, "--set", "linkage.ratio=" + "[" * 200 + "]" * 200)
    assert line.startswith("perfsim: error: 字段 field '--set' = 'linkage.ratio=[[[")
    assert line.endswith("YAML 嵌套超过 100 层 / YAML nesting deeper than 100 levels (set "
                         "PERFSIM_MAX_YAML_DEPTH to change)")


def test_a_bad_limit_in_the_environment_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PERFSIM_MAX_YAML_NODES", "many")
    line = refused(capsys, "run", tiny_scores_scenario(tmp_path))
    assert line == ("perfsim: error: 字段 field 'PERFSIM_MAX_YAML_NODES' = 'many': "
                    "必须是 > 0 的数 / must be a number > 0")


# --- YAML numbers in exponent form --------------------------------------------------------------

def test_numbers_in_exponent_form_are_numbers():
    doc = parse_yaml("years: 1e0\nbudget: 1e6\nshare: 1e-3\nbig: 2.5E6\nneg: -2E+3\n"
                     "signed: 1.0e+6\nhuge: 1e19\ntext: '1e6'\nword: e5\nhalf: 1e\n")
    assert doc == {"years": 1, "budget": 1_000_000, "share": 0.001, "big": 2_500_000.0,
                   "neg": -2000, "signed": 1_000_000.0, "huge": 1e19, "text": "1e6",
                   "word": "e5", "half": "1e"}
    assert isinstance(doc["years"], int) and isinstance(doc["budget"], int)
    assert isinstance(doc["share"], float) and isinstance(doc["huge"], float)


def test_a_scenario_written_with_exponents_runs_as_with_plain_numbers(tmp_path):
    plain = tiny_scores_scenario(tmp_path, name="plain", extra=(
        "simulation: {years: 2, replications: 40, self_evaluation: {inflation_mean: 0.001}}\n"))
    exp = tiny_scores_scenario(tmp_path, name="exp", extra=(
        "simulation: {years: 2e0, replications: 4e1, self_evaluation: {inflation_mean: 1e-3}}\n"))
    for path in (plain, exp):
        assert main(["run", str(path), "--out", str(tmp_path / path.stem)]) == 0
    a = json.loads((tmp_path / "plain" / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "exp" / "summary.json").read_text(encoding="utf-8"))
    assert a["years"] == b["years"] == 2 and a["replications"] == b["replications"] == 40
    assert a["settings"] == b["settings"] and a["metrics"] == b["metrics"]


def test_a_generated_budget_in_exponent_form(tmp_path):
    text = (SCENARIOS / "jinan.yaml").read_text(encoding="utf-8")
    assert "total_budget: 2000000000 " in text
    path = tmp_path / "jinan.yaml"
    path.write_text(text.replace("total_budget: 2000000000 ", "total_budget: 2e9 "),
                    encoding="utf-8")
    assert load_scenario(path).portfolio.budget.sum() == pytest.approx(2e9)
    assert load_scenario(path).document["portfolio"]["generate"]["total_budget"] == 2 * 10**9


# --- memory: refused before allocation -----------------------------------------------------------

@pytest.fixture
def two_gib(monkeypatch):
    monkeypatch.setenv("PERFSIM_MAX_MEMORY_GIB", "2")


def assert_memory_line(line: str, start: str) -> None:
    assert line.startswith(start), line
    m = MEMORY_LINE.search(line)
    assert m, line
    assert gib_of(m["y"]) == 2.0 and gib_of(m["x"]) > 2.0


def test_huge_replications_in_run_are_refused_before_the_monte_carlo(capsys, tmp_path, two_gib,
                                                                     no_simulation):
    line = refused(capsys, "run", SCENARIOS / "jinan.yaml", "--replications", 10**9,
                   "--out", tmp_path / "out")
    assert_memory_line(line, "perfsim: error: 字段 field '--replications' = 1000000000: ")
    assert not (tmp_path / "out").exists()


def test_huge_years_in_run_are_refused(capsys, tmp_path, two_gib, no_simulation):
    line = refused(capsys, "run", SCENARIOS / "jinan.yaml", "--years", 10**8,
                   "--out", tmp_path / "out")
    assert_memory_line(line, "perfsim: error: 字段 field '--years' = 100000000: ")


def test_huge_years_set_by_their_yaml_path_are_named_so(capsys, tmp_path, two_gib,
                                                        no_simulation):
    line = refused(capsys, "run", SCENARIOS / "jinan.yaml", "--replications", 64,
                   "--set", "simulation.years=1e8", "--out", tmp_path / "out")
    assert_memory_line(line, "perfsim: error: 字段 field '--set simulation.years' = 100000000: ")


def test_huge_years_in_the_scenario_file_are_refused_naming_it(capsys, tmp_path, no_simulation):
    path = tiny_scores_scenario(tmp_path, extra="simulation: {years: 1e8}\n")
    # 5 projects, 128 replications a chunk, 56 metrics: the results alone are about
    # 128 × 10^8 × 60 × 8 bytes ≈ 5,700 GiB, above any machine's limit by default
    line = refused(capsys, "run", path, "--out", tmp_path / "out")
    assert line.startswith(f"perfsim: error: {path}: 字段 field 'simulation.years' = 100000000: "
                           "需要约 ")
    assert MEMORY_LINE.search(line), line


def test_huge_replications_in_calibrate_are_refused(capsys, two_gib, no_simulation):
    line = refused(capsys, "calibrate", SCENARIOS / "jinan.yaml", "--solve", "linkage.ratio",
                   "--target", "wrong_cuts=0.1", "--replications", 10**9)
    assert_memory_line(line, "perfsim: error: 字段 field '--replications' = 1000000000: ")


def test_huge_selfeval_folders_are_refused_before_writing(capsys, tmp_path, two_gib):
    line = refused(capsys, "template", "selfeval", "--projects", 10**8, "--out",
                   tmp_path / "books")
    assert_memory_line(line, "perfsim: error: 字段 field '--projects' = 100000000: ")
    assert not any(tmp_path.iterdir())


def test_the_memory_limit_follows_its_environment_variable(capsys, tmp_path, monkeypatch,
                                                           no_simulation):
    path = tiny_scores_scenario(tmp_path, extra="simulation: {years: 1, replications: 64}\n")
    monkeypatch.setenv("PERFSIM_MAX_MEMORY_GIB", "0.001")   # 1 MiB: below any run
    line = refused(capsys, "run", path, "--out", tmp_path / "out")
    assert line.startswith(f"perfsim: error: {path}: 需要约 "), line   # no setting to blame
    m = MEMORY_LINE.search(line)
    assert m and m["y"] == "0.001"
    monkeypatch.setenv("PERFSIM_MAX_MEMORY_GIB", "nothing")
    line = refused(capsys, "run", path, "--out", tmp_path / "out")
    assert line == ("perfsim: error: 字段 field 'PERFSIM_MAX_MEMORY_GIB' = 'nothing': 必须是 > 0 "
                    "的数 / must be a number > 0")


def test_the_default_limit_is_a_share_of_this_machines_memory(monkeypatch):
    monkeypatch.delenv("PERFSIM_MAX_MEMORY_GIB", raising=False)
    have = limits.machine_memory()
    expected = (limits.MEMORY_FALLBACK_GIB * 2**30 if have is None
                else 0.8 * have)
    assert limits.memory_limit() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name, replications, years, chunk, space", [
    ("jinan", 256, 2, 128, "auto"),                    # 400 projects, attainment space
    ("jinan", 96, 12, 32, "auto"),                     # results kept over many years
    ("weighting_comparison", 32, 2, 32, "measurement"),   # 3,468 projects × 16 leaves
])
def test_the_estimate_bounds_what_a_run_really_allocates(name, replications, years, chunk,
                                                         space):
    """The estimate against numpy's own allocation count (tracemalloc): never below it,
    and within a few times of it."""
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    s = dataclasses.replace(scenario_settings(sc, years=years, replications=replications,
                                              chunk=chunk), space=space)
    inputs = build_inputs(sc, s)
    need = limits.monte_carlo_bytes(
        slots=inputs.n_slots, leaves=inputs.measure.points.size,
        checkpoints=len(s.checkpoints), replications=replications, years=years,
        chunk_rows=chunk_blocks(inputs) * BLOCK, metrics=len(metric_names(inputs.grading)))
    tracemalloc.start()
    try:
        simulate(sc, s, engine="numpy", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    run_part = need - limits.BASE_BYTES
    assert peak <= run_part <= 3 * peak, (peak, run_part)


def test_perfsim_reads_yaml_through_its_one_loader_only():
    package = Path(limits.__file__).parent
    readers = re.compile(r"\byaml\.(?:safe_load|load|full_load|unsafe_load|load_all|"
                         r"safe_load_all|compose|SafeLoader|Loader|CSafeLoader)\b")
    found = [f"{p.relative_to(package)}:{n}" for p in sorted(package.rglob("*.py"))
             for n, text in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if readers.search(text) and p.name != "yamlfile.py"]
    assert found == []


def test_a_huge_monte_carlo_from_python_is_refused_before_it_starts(two_gib, no_simulation):
    # the researcher's object (and so every notebook) goes through the same estimate as the
    # command line: 10^9 replications of Jinan cannot fit in 2 GiB
    sc = perfsim.load(SCENARIOS / "jinan.yaml")
    with pytest.raises(InputError) as caught:
        sc.simulate(replications=10**9, years=1)
    err = caught.value
    assert err.field == "simulation.replications" and err.value == 10**9
    assert "above the limit 2" in str(err)


def test_a_monte_carlo_that_fits_is_not_refused(two_gib):
    sc = perfsim.load(SCENARIOS / "jinan.yaml")
    result = sc.simulate(replications=8, years=1)
    assert len(result.replications) == 8
