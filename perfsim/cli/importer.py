"""``perfsim import``: self-evaluation workbooks in (导入自评表), scored as printed and by the
template rule, and the review (复核) written out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfsim.forms.read import read_paths
from perfsim.forms.review import CSVS, tidy, write_csvs
from perfsim.forms.score import score_tables
from perfsim.forms.targets import load_levels
from perfsim.io import atomic_directory, check_output_dir
from perfsim.present.review import PAGE, WORKBOOK, write_page, write_workbook


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim import PATH... --out DIR [--strict] [--levels FILE]``."""
    imp = sub.add_parser(
        "import", help="import self-evaluation workbooks (导入自评表) and review them (复核)",
        description="Read MoF-layout self-evaluation workbooks (项目支出/部门整体支出绩效自评表: "
                    ".xlsx, .xls, folders read recursively, .zip), score every table as printed "
                    "and by the template rule, and write projects.csv, leaves.csv, tasks.csv "
                    "(the 年度主要任务 lines of department tables), findings.csv, review.xlsx "
                    "and review.html into --out.")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="workbooks, folders or .zip archives")
    imp.add_argument("--out", type=Path, required=True, help="output directory (new or perfsim's)")
    imp.add_argument("--strict", action="store_true",
                     help="stop at the first file that cannot be imported (exit 2) instead of "
                          "listing it and importing the rest")
    imp.add_argument("--levels", type=Path, default=None, metavar="FILE",
                     help="qualitative levels and their coefficients (YAML, the shape of "
                          "datasets/forms/levels.yaml, which is the default)")
    imp.set_defaults(func=_cmd_import)


def _cmd_import(args: argparse.Namespace) -> int:
    levels = load_levels(args.levels)
    inputs = [*args.paths, *([args.levels] if args.levels else [])]
    check_output_dir(args.out, inputs=inputs)
    imported = read_paths(args.paths, strict=args.strict)
    if not imported.tables:
        first, more = imported.errors[0], len(imported.errors) - 1
        if more == 0:
            raise first
        raise first.noting(f"(另有 {more} 个文件未导入 and {more} more files not imported)")
    scored = score_tables(imported.tables, levels)
    frames = tidy(scored, imported.failed)
    with atomic_directory(args.out, kind="import", inputs=inputs) as tmp:
        write_csvs(frames, tmp)
        write_workbook(frames, tmp / WORKBOOK)
        write_page(frames, tmp / PAGE)
    for _, message in imported.failed:
        print(f"perfsim: not imported: {message}", file=sys.stderr)
    csvs = ", ".join(f"{name}.csv" for name in CSVS)
    print(f"wrote {args.out}: {csvs}, {WORKBOOK}, {PAGE}")
    print(f"{imported.files} files, {len(frames['projects'])} tables, "
          f"{len(frames['leaves'])} leaves, "
          + (f"{len(frames['tasks'])} tasks, " if len(frames["tasks"]) else "")
          + f"{len(frames['findings'])} findings"
          + (f"; {len(imported.failed)} files not imported (listed in findings.csv)"
             if imported.failed else ""))
    if imported.others:
        print(f"perfsim: {imported.others_line()}", file=sys.stderr)
    return 0
