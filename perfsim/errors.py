"""Errors that perfsim reports to users as a single line.

Every problem with user input is raised as :class:`InputError`, which names the file, the place
in it (row, indicator code, key), the field and the offending value. Its message is one line,
Chinese first with English alongside (:mod:`perfsim.messages`). The command line prints
``perfsim: error: <message>`` and exits with status 2; it never shows a traceback for these; the
app and the notebooks show the same line.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from perfsim import messages

_MISSING = object()


class PerfsimError(Exception):
    """Base class for errors that the command line reports as one line."""


class InputError(PerfsimError, ValueError):
    """Bad user input: a file, a row or indicator, a field and a value.

    ``InputError("portfolio.csv", "row 7", "budget", -5, "must be >= 0")`` reads
    ``portfolio.csv: 第 7 行 row 7: 字段 field 'budget' = -5: 必须 ≥ 0 / must be >= 0``. Any
    part may be omitted; ``problem`` is English, translated by :mod:`perfsim.messages`.
    """

    def __init__(
        self,
        source: str | PathLike[str] | None = None,
        where: str | None = None,
        field: str | None = None,
        value: Any = _MISSING,
        problem: str = "invalid value",
    ) -> None:
        self.source = None if source is None else str(source)
        self.where = where
        self.field = field
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING
        self.problem = problem
        super().__init__(messages.frame(self.source, where, field,
                                        _show(value) if self.has_value else None, problem))

    def at(self, source: str | PathLike[str] | None = None, where: str | None = None,
           field: str | None = None) -> InputError:
        """The same error placed in ``source``/``where`` (kept if already set), with ``field``
        replacing the field name when given."""
        return InputError(
            self.source or source,
            self.where or where,
            field if field is not None else self.field,
            self.value if self.has_value else _MISSING,
            self.problem,
        )


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 80 else text[:77] + "..."


class OutputBusyError(PerfsimError):
    """Another perfsim command is writing the same output directory: one line, exit status 2,
    Chinese first with English alongside."""

    def __str__(self) -> str:
        return messages.bilingual(super().__str__())
