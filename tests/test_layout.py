"""The package reads as the flow of data: the layers contract holds, and nothing hides an import
inside a function to dodge it (only optional heavy libraries load late)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "perfsim"
#: libraries that load only when their feature is used (plots, Excel, notebooks, estimation,
#: sensitivity, progress bars, Dask, the documentation site)
LATE = {"matplotlib", "openpyxl", "xlrd", "papermill", "nbformat", "nbconvert", "jupyter_client",
        "ipykernel", "IPython", "statsmodels", "SALib", "tqdm", "distributed", "sphinx"}


def contract() -> dict:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in doc["tool"]["importlinter"]["contracts"]
                 if c["type"] == "layers" and "containers" not in c]
    return layers


def test_the_layers_contract_names_every_module_and_subpackage():
    named = {name for layer in contract()["layers"] for name in layer.split("|")}
    named = {n.strip() for n in named}
    present = {f"perfsim.{p.stem if p.is_file() else p.name}" for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__")
               or (p.is_dir() and (p / "__init__.py").exists())}
    assert present == named


def test_lint_imports_keeps_the_contract():
    exe = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert " kept, 0 broken" in done.stdout


def test_functions_import_only_optional_heavy_libraries():
    late = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    names = [sub.module or ""]
                elif isinstance(sub, ast.Import):
                    names = [a.name for a in sub.names]
                else:
                    continue
                late += [f"{path.relative_to(ROOT)}:{sub.lineno} {n}" for n in names
                         if n.split(".")[0] not in LATE]
    assert late == []
