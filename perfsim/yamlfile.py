"""perfsim's one YAML loader: every YAML perfsim reads (scenarios, indicator systems, bounds
and sweep files, levels files, ``--set`` values, notebook parameters) goes through it.

It is PyYAML's safe loader with the limits of :mod:`perfsim.limits`, each refused as one
:class:`~perfsim.errors.InputError` naming the file and the line:

* a file larger than the YAML size limit, before it is read;
* a document whose nodes, every alias expanded, exceed the node limit — counted while the
  document is composed, from the sizes of the nodes an alias refers to, so a "billion laughs"
  file is refused without expanding anything;
* nesting deeper than the depth limit (a 10,000-deep nesting would otherwise exhaust Python's
  recursion);
* an alias inside the node it refers to (``&a [*a]``), which would make a structure without
  end.

Numbers in exponent form are numbers, as in YAML 1.2, not text as in YAML 1.1: ``1e-3`` and
``2.5E6`` (a fraction or a negative exponent) are floats; ``1e6`` and ``2E+3`` (a whole mantissa,
exponent at most 18) are whole numbers, so that ``replications: 1e4`` or ``years: 1e0`` counts
as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from perfsim import limits
from perfsim.errors import InputError

#: Numbers in exponent form that YAML 1.2 reads as numbers and YAML 1.1 (PyYAML's resolver) as
#: text: with a fraction or a negative exponent a float (``2.5E6``, ``1e-3``) ...
FLOAT_12 = re.compile(r"^[-+]?(?:(?:[0-9][0-9_]*)?\.[0-9_]*[eE][-+]?|[0-9][0-9_]*[eE]-)[0-9]+$")
#: ... and without (``1e6``, ``2E+3``) a whole number, as a count or an amount written so
#: means (``replications: 1e4``, ``years: 1e0``, ``budget: 1e6``); a float above 10^18.
WHOLE_12 = re.compile(r"^[-+]?[0-9][0-9_]*[eE]\+?[0-9]+$")


class _Refused(Exception):
    """A limit met while composing: (where, field value, problem)."""

    def __init__(self, where: str | None, value: Any, problem: str) -> None:
        super().__init__(problem)
        self.where, self.value, self.problem = where, value, problem


class Loader(yaml.SafeLoader):
    """The safe loader with perfsim's limits on nodes, aliases and depth, and YAML 1.2
    floats."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._max_depth = limits.yaml_depth()
        self._max_nodes = limits.yaml_nodes()
        self._sizes: dict[int, int] = {}   # id(node) -> its nodes, aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = f"line {event.start_mark.line + 1}" if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:
            if id(self.anchors[event.anchor]) not in self._sizes:
                raise _Refused(line, f"*{event.anchor}",
                               "YAML alias inside the node it refers to (a structure without "
                               "end)")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self._max_depth:
            raise _Refused(line, None, f"YAML nesting deeper than {self._max_depth} levels "
                                       f"(set {limits.YAML_DEPTH_ENV} to change)")
        node = super().compose_node(parent, index)
        self._depth -= 1
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(v)] for v in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
        if size > self._max_nodes:
            raise _Refused(line, None, f"YAML document expands to more than "
                                       f"{self._max_nodes:,} nodes (aliases counted at every "
                                       f"use; set {limits.YAML_NODES_ENV} to change)")
        self._sizes[id(node)] = size
        return node


    def construct_yaml_int(self, node: Any) -> Any:
        text = self.construct_scalar(node)
        if WHOLE_12.match(text):
            mantissa, _, exponent = text.replace("_", "").lower().partition("e")
            if int(exponent) <= 18:
                return int(mantissa) * 10 ** int(exponent)
            return float(mantissa + "e" + exponent)
        return super().construct_yaml_int(node)


Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_12, list("-+0123456789."))
Loader.add_implicit_resolver("tag:yaml.org,2002:int", WHOLE_12, list("-+0123456789"))


def parse_yaml(text: str, source: str | Path | None = None) -> Any:
    """The YAML document ``text`` (of the file ``source``, for messages); a syntax error or a
    limit met is one :class:`InputError` naming the line."""
    loader = Loader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        if exc.value is None:
            raise InputError(source, exc.where, problem=exc.problem) from None
        raise InputError(source, exc.where, value=exc.value, problem=exc.problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(source, where, problem=f"YAML syntax error: {problem}") from None
    except ValueError as exc:   # e.g. an integer of more digits than Python converts
        raise InputError(source, problem=f"cannot parse a YAML value ({exc})") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise InputError(source, problem=f"YAML nesting too deep (set "
                                         f"{limits.YAML_DEPTH_ENV} lower)") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file (:func:`parse_yaml`), refusing one above the size limit before
    reading it; a missing or unreadable file is one :class:`InputError` naming it."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(path, problem="file not found") from None
    except OSError as exc:
        raise InputError(path, problem=f"cannot read ({exc.strerror})") from None
    most = limits.yaml_bytes()
    if size > most:
        _too_large(path, size, most)
    try:
        with path.open("rb") as fh:   # a file that grows meanwhile is read to the limit only
            data = fh.read(most + 1)
    except OSError as exc:
        raise InputError(path, problem=f"cannot read ({exc.strerror})") from None
    if len(data) > most:
        _too_large(path, len(data), most)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, problem="not UTF-8 text") from None
    return parse_yaml(text, path)


def _too_large(path: Path, size: int, most: int) -> None:
    raise InputError(path, problem=f"YAML file of {size / limits.MIB:,.1f} MiB, above the "
                                   f"limit {most / limits.MIB:g} MiB (set {limits.YAML_MIB_ENV} "
                                   f"to change)")
