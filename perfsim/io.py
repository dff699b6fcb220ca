"""File reading and atomic result writing shared by every edge of perfsim."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from perfsim.errors import InputError


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; syntax errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, problem="file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, problem="not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, problem=f"cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(path, where, problem=f"YAML syntax error: {problem}") from None


def check_mapping(doc: Any, allowed: Collection[str], source: str, what: str,
                  required: Collection[str] = ()) -> Mapping[str, Any]:
    """``doc`` as a mapping whose keys are all ``allowed`` and include ``required``; otherwise
    an :class:`InputError` naming the file and the key, listing the allowed ones."""
    if not isinstance(doc, Mapping):
        raise InputError(source, problem=f"{what} must be a YAML mapping")
    for key in doc:
        if key not in allowed:
            raise InputError(source, field=str(key),
                             problem=f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in doc:
            raise InputError(source, field=key, problem="required")
    return doc


def to_jsonable(obj: Any) -> Any:
    """Numpy scalars and arrays, paths and tuples → plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None  # JSON has no NaN or infinity
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    text = json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; on success it replaces ``target`` in one
    rename, on failure it is removed — a reader never sees a half-written result."""
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise InputError(target, problem="exists and is not a directory (choose another --out)")
    target.parent.mkdir(parents=True, exist_ok=True)
    # a plain mkdir (not mkdtemp, which makes it private, 0700): the result gets the usual mode
    tmp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex}")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_directory(tmp, target)


def replace_directory(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing what was there: the old
    one is renamed aside first and removed after, so ``target`` is always whole."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
