"""The conda environment and pyproject.toml name the same runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# a pip requirement with extras maps to several conda packages
CONDA_NAMES = {"dask[distributed]": ["dask", "distributed"]}
# runtime dependencies not packaged on conda-forge: environment.yml lists them under `pip:`
PIP_ONLY = {"mpl-font"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected: dict[str, str] = {}
    pip_expected: dict[str, str] = {}
    for req in project["dependencies"]:
        name, spec = _split(req)
        if name in PIP_ONLY:
            pip_expected[name] = spec
            continue
        for conda_name in CONDA_NAMES.get(name, [name]):
            expected[conda_name] = spec
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    got: dict[str, str] = {}
    pip_got: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            if name not in ("python", "pip"):
                got[name] = spec
        else:
            for req in dep.get("pip", []):
                if not req.startswith("-"):
                    name, spec = _split(req)
                    pip_got[name] = spec
    assert got == expected
    assert pip_got == pip_expected


def test_environment_installs_the_package_with_dev_extras():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[dev]" in pip
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text()
    block = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", block, re.S)
    lines = [ln.strip() for c in commands for ln in c.strip().splitlines() if ln.strip()]
    assert len(lines) == 2, lines
    assert lines[1] in ci
