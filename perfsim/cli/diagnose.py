"""``perfsim diagnose``: redundancy diagnostics of an indicator system on a portfolio."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perfsim.analyse.diagnose import diagnose, format_diagnosis
from perfsim.cli.common import (
    _system_and_portfolio,
)
from perfsim.errors import InputError
from perfsim.io import (
    atomic_directory,
    check_output_dir,
    input_files,
    to_jsonable,
)
from perfsim.model.imported import ImportedPortfolio
from perfsim.model.scenario import load_scenario
from perfsim.present.report import (
    write_csv,
)


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim diagnose``."""
    dia = sub.add_parser(
        "diagnose", help="redundancy diagnostics of an indicator system on a portfolio",
        description="Correlations within and between level-1 groups (flagging redundant and "
                    "contrary pairs), Cronbach's alpha and PCA per group, and each leaf's "
                    "effective weight (its correlation with the total against its points). "
                    "Give SYSTEM PORTFOLIO, or one SCENARIO, or the folder `perfsim import` "
                    "wrote: an imported portfolio is diagnosed at the level its projects' own "
                    "leaves share (二级指标).")
    dia.add_argument("files", type=Path, nargs="+", metavar="FILE",
                     help="SYSTEM PORTFOLIO (indicator system and a portfolio with "
                          "measurements), or a SCENARIO, or an imported FOLDER")
    dia.add_argument("--data", choices=["attainment", "raw"], default="attainment",
                     help="attainment (default: share of each leaf's points earned) or raw "
                          "(measurements oriented higher = better)")
    dia.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    dia.add_argument("--redundant", type=float, default=0.9,
                     help="flag pairs with |r| above this (default 0.9)")
    dia.add_argument("--contrary", type=float, default=-0.4,
                     help="flag pairs with r below this (default -0.4)")
    dia.add_argument("--out", type=Path, default=None,
                     help="also write indicators.csv, groups.csv, pca.csv, correlations.csv "
                          "and group_correlations.csv here")
    dia.add_argument("--json", action="store_true", help="print JSON")
    dia.set_defaults(func=_cmd_diagnose)


def _target(files: list[Path], out: Path | None) -> tuple[object, object, list[Path]]:
    """What to diagnose: ``(system or scenario or folder, portfolio or None, inputs)``."""
    if len(files) != 1:
        system, portfolio, _, inputs = _system_and_portfolio(files, out)
        return system, portfolio, inputs
    if files[0].is_dir():   # the folder `perfsim import` wrote
        inputs = input_files(files)
        if out is not None:
            check_output_dir(out, inputs=inputs)
        return files[0], None, inputs
    scenario = load_scenario(files[0])
    imported = isinstance(scenario.portfolio, ImportedPortfolio)
    inputs = input_files([*files, *([Path(scenario.portfolio.source)] if imported else [])])
    if out is not None:
        check_output_dir(out, inputs=inputs)
    if scenario.system is None and not imported:
        raise InputError(files[0], field="indicator_system",
                         problem="the scenario has no indicator system")
    return scenario, None, inputs


def _cmd_diagnose(args: argparse.Namespace) -> int:
    target, portfolio, inputs = _target(list(args.files), args.out)
    try:
        result = diagnose(target, portfolio, data=args.data, method=args.method,
                          redundant=args.redundant, contrary=args.contrary)
    except InputError as err:
        raise err.at(field={"redundant": "--redundant", "contrary": "--contrary",
                            "data": "--data"}.get(err.field or "", err.field)) from None
    tables = result.tables()
    if result.values is not None:
        tables["shared_level"] = result.values
    if args.out is not None:
        with atomic_directory(args.out, kind="diagnose", inputs=inputs) as tmp:
            for name, table in tables.items():
                write_csv(table, tmp / f"{name}.csv")
    if args.json:
        print(json.dumps(to_jsonable(result.as_dict()), indent=2, ensure_ascii=False))
    else:
        print(format_diagnosis(result))
        if args.out is not None:
            print(f"\n已写入 wrote {args.out}/ ({', '.join(tables)} .csv)")
    return 0
