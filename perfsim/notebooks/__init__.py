"""The notebook runner (papermill), parameters, sweeps, provenance and the report index.

Notebooks import this package as ``from perfsim import notebooks as nb`` and call the helpers
re-exported here (:mod:`perfsim.notebooks.helpers`). The rest, by job:
:mod:`~perfsim.notebooks.parameters` (notebooks and their parameters),
:mod:`~perfsim.notebooks.provenance` (hashes, versions, manifests),
:mod:`~perfsim.notebooks.runner` (running notebooks), :mod:`~perfsim.notebooks.sweep` (grids of
runs in parallel) and :mod:`~perfsim.notebooks.index` (``reports/index.html``).
"""

from perfsim.notebooks.helpers import (
    HIDDEN,
    answer,
    answers_dir,
    attempt,
    changes_table,
    cutoffs,
    departments_in,
    input_path,
    needs_measurements,
    output_path,
    save_figure,
    save_table,
    show,
)

__all__ = ["HIDDEN", "answer", "answers_dir", "attempt", "changes_table", "cutoffs",
           "departments_in", "input_path", "needs_measurements", "output_path", "save_figure",
           "save_table", "show"]
