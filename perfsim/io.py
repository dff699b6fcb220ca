"""File reading and result writing shared by every edge of perfsim.

**Output directories.** Every directory perfsim writes results into carries a marker file,
``.perfsim-run.json`` (:data:`MARKER`: who wrote it, what kind of output, when, with which
command). perfsim replaces an existing directory only if it holds that marker (or is empty); a
non-empty directory without it is refused. An output directory may not be, contain or lie inside
an input of the run (or ``datasets/``), nor be the current directory or one of its parents, nor
lie under a regular file. These checks run before any work (:func:`check_output_dir`).

A result is written into a hidden sibling ``.NAME~partial-<32 hex>`` (marked too) and renamed
into place when complete (:func:`atomic_directory`); the marker then lists every file and folder
the result holds, with each file's size and modification time. The directory it replaces is
renamed aside to ``.NAME~old-<pid>-<8 hex>`` and emptied of what its marker lists. **perfsim never
deletes a file it did not write**: an output that holds anything its marker does not list, or a
listed file changed since (a note saved into the folder, a workbook edited in Excel), is not
replaced: the command refuses before any work, naming the file (:func:`foreign_entries`). The
``~`` in the hidden names is a character :func:`safe_name` never lets into a name, so no run
id's directory can be mistaken for another's partial. While a command works on a target it
holds a lock (:mod:`filelock`) on ``.NAME.perfsim-lock`` beside it (:func:`claim_output`): a
second command on the same target is refused (:class:`~perfsim.errors.OutputBusyError`); stale
partial and old siblings of a killed run of the same target — exactly its name pattern, a marker
naming the same target, and the lock free — are removed by the next command that claims it.
Files and directories are created with the user's umask.

**Names** that become directory names (scenario names, run ids, sweep names) pass one check,
:func:`safe_name`.

**Interrupts.** :func:`handle_interrupts` makes SIGINT and SIGTERM raise
:class:`KeyboardInterrupt` once; the renames and clean-ups above run with interrupts held back
(:func:`uninterrupted`), so a result is complete or absent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import json
import logging
import multiprocessing
import os
import re
import shlex
import shutil
import signal
import stat
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from perfsim import yamlfile
from perfsim.errors import InputError, OutputBusyError
from perfsim.version import __version__

if TYPE_CHECKING:
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATASETS = PROJECT_ROOT / "datasets"  # the bundled inputs: never an output
MARKER = ".perfsim-run.json"
REPORTS_KIND = "reports"  # a marked folder that holds outputs (reports/); never replaced


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file through perfsim's one loader (:func:`perfsim.yamlfile.read_yaml`:
    size, node, alias and depth limits); problems name the file and line."""
    return yamlfile.read_yaml(path)


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




#: First characters that make a spreadsheet read a text cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: The encoding of every CSV perfsim writes: UTF-8 with a byte-order mark, so that Excel on
#: Chinese Windows opens 优/良 correctly when the file is double-clicked.
CSV_ENCODING = "utf-8-sig"


def formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would take for a formula: it starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return. Numbers never are."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def formula_safe(value: Any) -> Any:
    """``value`` as written into a CSV cell (OWASP's CSV-injection rule): text that starts
    like a formula (:func:`formula_like`) gets a leading ``'`` so that a spreadsheet keeps it
    as text; anything else (numbers, negative ones included) is unchanged. The one escaping
    rule of perfsim's writers: CSVs go through :func:`write_csv`, workbook cells through
    :func:`text_cell` and :func:`escape_sheet`."""
    if formula_like(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name passed through :func:`formula_safe`;
    numeric, boolean and date columns are left as they are (a negative amount stays a
    number)."""
    out = frame.rename(columns=formula_safe)
    for j, dtype in enumerate(out.dtypes):
        if dtype.kind in "biufcmM":
            continue
        col = out.iloc[:, j]
        if col.map(formula_like, na_action="ignore").any():
            out.isetitem(j, col.astype(object).map(formula_safe, na_action="ignore"))
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, float_format: str | None = None) -> Path:
    """Write ``frame`` as CSV (no index, ``\\n`` line ends) in :data:`CSV_ENCODING`, text
    escaped (:func:`csv_safe`). Every CSV perfsim writes from a table goes through here."""
    csv_safe(frame).to_csv(path, index=False, lineterminator="\n", encoding=CSV_ENCODING,
                           float_format=float_format)
    return Path(path)


def text_cell(cell: Any, value: Any) -> Any:
    """Put ``value`` into the openpyxl ``cell``; text that looks like a formula
    (:func:`formula_like`) is stored as text, never a formula: string type and Excel's
    ``quotePrefix`` (the cell shows ``=1+1`` as typed and stays text when edited). Returns the
    cell."""
    cell.value = value
    if formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def escape_sheet(ws: Any) -> None:
    """Make every cell of the openpyxl worksheet ``ws`` that holds formula-like text (or that a
    writer such as pandas turned into a formula from text) a text cell (:func:`text_cell`).
    For sheets written from data, which hold no formula of perfsim's own."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" or formula_like(cell.value):
                text_cell(cell, cell.value if isinstance(cell.value, str) else str(cell.value))


def referenced_files(path: str | Path) -> list[Path]:
    """Files a YAML file names: string values that are paths of existing files, relative to the
    file or absolute (a scenario's indicator system and portfolio, AHP matrices, ...)."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return []
    try:
        doc = yamlfile.read_yaml(path)
    except InputError:  # reported when the file itself is read
        return []
    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and 0 < len(node) < 1024 and "\n" not in node:
            candidate = Path(node) if Path(node).is_absolute() else path.parent / node
            with contextlib.suppress(OSError, ValueError):
                if candidate.is_file():
                    found.append(candidate)

    walk(doc)
    return found


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """``paths`` and, for YAML files, every file they name, recursively; each file once."""
    seen: set[Path] = set()
    out: list[Path] = []
    queue = [Path(p) for p in paths]
    while queue:
        f = queue.pop(0)
        try:
            key = f.resolve()
        except OSError:
            continue
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
        queue.extend(referenced_files(f))
    return out


# --------------------------------------------------------------------------------------------
# Names that become directory names
# --------------------------------------------------------------------------------------------

NAME_BYTES = 200  # with "~partial-<32 hex>" and a leading dot, within the 255-byte file-name limit
_CJK = ("\u3040-\u30ff"              # Hiragana, Katakana
        "\u3400-\u4dbf"              # CJK Extension A
        "\u4e00-\u9fff"              # CJK Unified Ideographs
        "\uac00-\ud7af"              # Hangul syllables
        "\uf900-\ufaff"              # CJK Compatibility Ideographs
        "\U00020000-\U0003134f")     # CJK Extensions B-G
_NAME = re.compile(f"[A-Za-z0-9_.\\-{_CJK}]+")
NAME_RULE = ("letters, digits, Chinese, Japanese or Korean characters, '_', '-' and '.' only, "
             "not starting with '.'")


def new_workbook(path: str | os.PathLike[str], what: str = "workbook") -> Path:
    """``path`` for a new Excel workbook perfsim is about to write: it must end in ``.xlsx``
    and not exist (perfsim never overwrites a file it did not write)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(path, problem=f"the {what} is an Excel file: name it .xlsx")
    if path.exists():
        raise InputError(path, problem="exists already; perfsim never overwrites a file it did "
                                       "not write: choose another name")
    return path


def safe_name(value: Any, source: str | os.PathLike[str] | None = None,
              field: str = "name") -> str:
    """``value`` if it can serve as a directory name of its own: letters, digits, CJK
    characters, ``_ - .``, no separator, no leading dot (so not ``.`` or ``..``), at most
    :data:`NAME_BYTES` bytes. Anything else is an :class:`InputError` naming ``source`` and
    ``field``. The one check through which scenario names, run ids and sweep names pass."""
    if (isinstance(value, str) and _NAME.fullmatch(value) and not value.startswith(".")
            and len(value.encode("utf-8")) <= NAME_BYTES):
        return value
    raise InputError(source, field=field, value=value,
                     problem=f"not usable as a folder name: use {NAME_RULE}, at most "
                             f"{NAME_BYTES} bytes")


def file_stem(value: str) -> str:
    """A file name (without suffix) for ``value``, a name from the user's data (a department):
    ``value`` itself if :func:`safe_name` accepts it; otherwise its characters outside
    :data:`NAME_RULE` replaced by ``_``, cut to fit, plus ``-`` and 8 hex digits of its SHA-256,
    so that two different values never share a file."""
    if (_NAME.fullmatch(value) and not value.startswith(".")
            and len(value.encode("utf-8")) <= NAME_BYTES):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]
    stem = re.sub(f"[^A-Za-z0-9_.\\-{_CJK}]", "_", value).lstrip(".-")
    while len(stem.encode("utf-8")) > NAME_BYTES - 9:
        stem = stem[:-1]
    return f"{stem or '_'}-{digest}"


# --------------------------------------------------------------------------------------------
# Interrupts
# --------------------------------------------------------------------------------------------

_held = 0                 # depth of uninterrupted() sections
_pending = False          # a signal arrived inside one
_main_pid: int | None = None


def _on_signal(signum: int, frame: Any) -> None:
    global _pending
    if os.getpid() != _main_pid:  # a forked worker: the parent handles the interrupt
        os._exit(128 + signum)
    if _held:
        _pending = True
        return
    _silence()
    _stop_workers()
    raise KeyboardInterrupt


def _stop_workers() -> None:
    """Ask this process's worker processes (a process pool, a local dask cluster) to stop at
    once, so that the parent does not wait for their queued work before it cleans up."""
    if "multiprocessing" not in sys.modules:
        return

    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.terminate()


def _silence() -> None:
    """After an interrupt, the libraries winding down (asyncio, the Jupyter client, dask) log
    and warn about the tasks they drop; the command has one line to say, so they are muted."""

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    sys.unraisablehook = lambda unraisable: None
    threading.excepthook = lambda args: None


@contextlib.contextmanager
def handle_interrupts() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise :class:`KeyboardInterrupt` in this process
    (except inside :func:`uninterrupted` sections, which finish first); forked workers exit
    quietly and leave the interrupt to their parent. Previous handlers are restored after."""
    global _main_pid, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    outer, _main_pid, _pending = _main_pid, os.getpid(), False
    for s in previous:
        signal.signal(s, _on_signal)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _main_pid = outer


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM (under :func:`handle_interrupts`) until the block is done,
    then raise :class:`KeyboardInterrupt` if one arrived: renames and clean-ups are never cut
    in half."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
    if not _held and _pending:
        _pending = False
        raise KeyboardInterrupt


# --------------------------------------------------------------------------------------------
# Output directories: markers, checks, locks, atomic replacement
# --------------------------------------------------------------------------------------------

REPORTS = Path("reports")  # the default folder of results, relative to the current directory


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _command() -> str:
    prog = "perfsim" if "perfsim" in sys.argv[0] else (Path(sys.argv[0]).name or "python")
    return shlex.join([prog, *sys.argv[1:]])


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a perfsim output directory, or None if ``folder`` holds none."""
    path = Path(folder) / MARKER
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("kind"), str) else None


def write_marker(folder: str | Path, kind: str, name: str | None = None) -> None:
    """Mark ``folder`` as perfsim's: ``.perfsim-run.json`` with the perfsim version, the kind
    of output, its id, the command, the process and the time (written whole, then renamed)."""
    folder = Path(folder)
    doc = {"perfsim": __version__, "kind": kind, "id": name or folder.name,
           "command": _command(), "pid": os.getpid(), "created": _now()}
    tmp = folder / f"{MARKER}.partial-{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder), key=lambda e: (e.startswith("."), e))


def _holds(entries: list[str]) -> str:
    more = len(entries) - 1
    return entries[0] + (f" and {more} more" if more else "")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output_dir(target: str | Path, *, inputs: Iterable[str | Path] = (),
                     option: str = "--out", replace: bool = True) -> Path:
    """Check that perfsim may write ``target`` (before any work runs) and return it resolved.

    Refused, as an :class:`InputError` naming ``target`` and ``option``: a path that is, or
    lies under, a regular file; the current directory or one of its parents; a path that is,
    contains or lies inside one of ``inputs`` or ``datasets/``; and (``replace``) an existing
    directory that is not empty and holds no perfsim marker, is a reports folder, or holds
    anything perfsim did not write there (:func:`foreign_entries`), which it would delete.
    """
    where = str(target)
    absolute = Path(os.path.abspath(target))
    for q in (absolute, *absolute.parents):
        if os.path.lexists(q):
            if not q.is_dir():
                what = "" if q == absolute else f" ({_shown(q)} is a file)"
                raise InputError(where, problem=f"is not a directory{what}; choose another "
                                                f"{option}")
            break
    resolved = absolute.resolve()
    cwd = Path.cwd().resolve()
    if _within(cwd, resolved):
        what = "is the current directory" if resolved == cwd else (
            "contains the current directory")
        raise InputError(where, problem=f"{what}; choose a new folder for {option}")
    for item in (*inputs, DATASETS):
        inp = Path(item).resolve()
        name = "perfsim's datasets/" if item is DATASETS else _shown(inp)
        if resolved == inp:
            what = "is an input of the run"
        elif _within(inp, resolved):
            what = f"contains an input of the run ({name})"
        elif _within(resolved, inp):
            what = f"lies inside an input of the run ({name})"
        else:
            continue
        raise InputError(where, problem=f"{what}; perfsim never writes over its inputs: "
                                        f"choose another {option}")
    if replace and resolved.is_dir():
        marker = read_marker(resolved)
        if marker is None:
            entries = _entries(resolved)
            if entries:
                raise InputError(where, problem=f"not a perfsim output directory (it holds "
                                                f"{_holds(entries)}); choose another {option} "
                                                "or remove it")
        elif marker["kind"] == REPORTS_KIND:
            raise InputError(where, problem="a perfsim reports folder, which holds other "
                                            f"results; choose another {option}")
        else:
            foreign = foreign_entries(resolved)
            if foreign is None:
                raise InputError(where, problem="written by an earlier perfsim, which kept no "
                                                "list of its files, so perfsim cannot tell them "
                                                f"from yours; remove it or choose another "
                                                f"{option}")
            if foreign:
                raise InputError(where, problem=f"holds {_holds(foreign)}, which perfsim did "
                                                "not write (or which changed since); perfsim "
                                                "never deletes your files: move it out of the "
                                                f"folder or choose another {option}")
    return resolved


def check_reports_dir(reports: str | Path, *, inputs: Iterable[str | Path] = (),
                      option: str = "--out") -> Path:
    """Check the folder that holds results (``reports/``) like an output directory; an existing
    one must hold the reports marker, be empty, or be the default ``reports/`` of the current
    directory. perfsim adds results to it and never replaces it. Returns it resolved."""
    where = str(reports)
    resolved = check_output_dir(reports, inputs=inputs, option=option, replace=False)
    if resolved.is_dir():
        marker = read_marker(resolved)
        if marker is not None:
            if marker["kind"] != REPORTS_KIND:
                raise InputError(where, problem=f"is the output of a perfsim "
                                                f"{marker['kind']}, not a reports folder; "
                                                f"choose another {option}")
            return resolved
        entries = _entries(resolved)
        if entries and resolved != REPORTS.resolve():
            raise InputError(where, problem=f"not a perfsim reports folder (it holds "
                                            f"{_holds(entries)}); choose another {option} "
                                            "or remove it")
    return resolved


def prepare_reports_dir(reports: str | Path, *, inputs: Iterable[str | Path] = (),
                        option: str = "--out") -> Path:
    """:func:`check_reports_dir`, then create the folder if need be and mark it as perfsim's."""
    resolved = check_reports_dir(reports, inputs=inputs, option=option)
    if read_marker(resolved) is None:
        _make_dirs(resolved)
        with uninterrupted():
            write_marker(resolved, REPORTS_KIND)
    return resolved


def check_own_file(path: str | Path, signature: str, option: str = "--out") -> None:
    """A file perfsim regenerates in place (``reports/index.html``): refused unless absent or
    written by perfsim (it contains ``signature`` near its start)."""
    path = Path(path)
    if not os.path.lexists(path):
        return
    try:
        ours = stat.S_ISREG(os.lstat(path).st_mode) and signature in path.read_text(
            encoding="utf-8", errors="replace")[:4096]
    except OSError:
        ours = False
    if not ours:
        raise InputError(path, problem=f"not written by perfsim, so perfsim will not replace "
                                       f"it; choose another {option} or remove it")


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and missing parents; the ones created, deepest first."""
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
    return missing


def _remove_empty(dirs: Iterable[Path]) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()  # only ever removes an empty directory


def _listing(folder: Path) -> tuple[dict[str, list[int]], list[str]]:
    """Everything under ``folder`` but its own marker: files (and links, never followed) as
    ``{relative path: [size in bytes, modification time in ns]}``, and the folders."""
    files: dict[str, list[int]] = {}
    dirs: list[str] = []
    for root, dnames, fnames in os.walk(folder):
        here = Path(root)
        for name in dnames:
            rel = (here / name).relative_to(folder).as_posix()
            if (here / name).is_symlink():
                fnames.append(name)
            else:
                dirs.append(rel)
        for name in fnames:
            st = os.lstat(here / name)
            files[(here / name).relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns]
    files.pop(MARKER, None)
    return files, dirs


def _seal(folder: Path) -> None:
    """Record in ``folder``'s marker every file and folder it holds now (a finished result),
    so that a later run can tell perfsim's files from the user's (:func:`foreign_entries`)."""
    doc = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    doc["files"], doc["dirs"] = _listing(folder)
    tmp = folder / f"{MARKER}.partial-{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def foreign_entries(folder: str | Path) -> list[str] | None:
    """What a perfsim output directory holds that perfsim did not write there: files and
    folders its marker does not list, and listed files whose size or modification time changed
    since; relative paths, shortest first. ``None`` when ``folder`` has no marker, or a marker
    without a list (an earlier perfsim kept none): nothing in it is provably perfsim's."""
    marker = read_marker(folder)
    if marker is None or not isinstance(marker.get("files"), dict):
        return None
    listed, listed_dirs = marker["files"], set(marker.get("dirs") or ())
    files, dirs = _listing(Path(folder))
    found = [f for f, sig in files.items() if listed.get(f) != sig]
    found += [d for d in dirs if d not in listed_dirs]
    return sorted(found, key=lambda e: (e.count("/"), e))


def remove_output(path: str | Path) -> bool:
    """Delete what perfsim wrote in the output directory ``path``: the files its marker lists,
    unchanged since, then the folders left empty and the marker. Anything else stays (and so
    does ``path``, then). A directory whose marker has no list is removed only if it holds
    nothing but the marker. Whether ``path`` is gone."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    marker = read_marker(path)
    if marker is not None and isinstance(marker.get("files"), dict):
        files, dirs = _listing(path)
        for rel, sig in files.items():
            if marker["files"].get(rel) == sig:
                with contextlib.suppress(OSError):
                    (path / rel).unlink()
        for rel in sorted(dirs, key=lambda d: -d.count("/")):
            with contextlib.suppress(OSError):
                (path / rel).rmdir()  # only ever removes an empty directory
    if marker is not None and _entries(path) == [MARKER]:
        with contextlib.suppress(OSError):
            (path / MARKER).unlink()
    with contextlib.suppress(OSError):
        path.rmdir()
    return not os.path.lexists(path)


#: The hidden siblings of an output ``NAME`` while it is written and replaced; ``~`` never
#: occurs in a name :func:`safe_name` accepts.
PARTIAL, OLD = "~partial-", "~old-"


def _partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL}{uuid.uuid4().hex}")


def _old_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{OLD}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _stale(target: Path) -> Iterator[tuple[Path, bool]]:
    """The partial and old siblings of ``target`` left by a run that died: named exactly
    ``.NAME~partial-<32 hex>`` or ``.NAME~old-<pid>-<8 hex>`` for this ``NAME`` and holding
    a marker that names this target; with whether it is a partial. Call it holding the
    target's lock: no live run of the target exists then."""
    pattern = re.compile(re.escape(f".{target.name}") + "(?:(" + re.escape(PARTIAL)
                         + "[0-9a-f]{32})|" + re.escape(OLD) + "[0-9]+-[0-9a-f]{8})")
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            m = pattern.fullmatch(entry.name)
            if m is None or entry.is_symlink() or not entry.is_dir():
                continue
            marker = read_marker(entry.path)
            if marker is not None and marker.get("id") == target.name:
                yield Path(entry.path), m.group(1) is not None


#: the name of a partial result of perfsim's: ``.NAME~partial-<32 hex>`` (:func:`_partial_path`)
_PARTIAL_NAME = re.compile(r"\.(?P<target>.+)" + re.escape(PARTIAL) + "[0-9a-f]{32}")


def _remove_partial(path: Path) -> None:
    """Remove a partial result of perfsim's: a directory named ``.NAME~partial-<32 hex>``
    (not a link) whose marker names the target ``NAME`` — what :func:`atomic_directory`
    makes, the work of a run that failed or died, every file in it written by that run.
    Anything else — another name, a link, a folder without the marker or with the marker of
    another target — is left alone."""
    m = _PARTIAL_NAME.fullmatch(path.name)
    if m is None or path.is_symlink() or not path.is_dir():
        return
    marker = read_marker(path)
    if marker is not None and marker.get("id") == m["target"]:
        shutil.rmtree(path, ignore_errors=True)


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.perfsim-lock")


@contextlib.contextmanager
def _locked(target: Path, where: str, option: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock of ``target`` (``.NAME.perfsim-lock`` beside it, removed on release);
    if another process holds it after ``wait`` seconds, :class:`OutputBusyError`."""
    path = _lock_path(target)
    lock = FileLock(str(path))
    try:
        if wait > 0:
            lock.acquire(timeout=wait)
        else:
            lock.acquire(blocking=False)
    except Timeout:
        holder = ""
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            info = json.loads(path.read_text(encoding="utf-8"))
            holder = f" (pid {info['pid']}, since {info['since']}: {info['command']})"
        raise OutputBusyError(f"{where}: another perfsim command is writing here{holder}; "
                              f"wait for it to finish or choose another {option}") from None
    try:
        with uninterrupted():
            path.write_text(json.dumps({"pid": os.getpid(), "since": _now(),
                                        "command": _command()}) + "\n", encoding="utf-8")
        yield
    finally:
        with uninterrupted():
            with contextlib.suppress(OSError):
                path.unlink()  # while still held: a waiter that locked it sees it unlinked
            lock.release()


_claims: set[Path] = set()


@contextlib.contextmanager
def claim_output(target: str | Path, *, inputs: Iterable[str | Path] = (),
                 option: str = "--out") -> Iterator[Path]:
    """Check ``target`` (:func:`check_output_dir`) and hold its lock for the whole block, so
    that no other perfsim command writes it meanwhile; stale partial and old siblings left by a
    killed run of this target are removed (:func:`_stale`). Yields the resolved target.
    Re-entrant: :func:`atomic_directory` inside the block uses the same claim."""
    inputs = list(inputs)
    resolved = check_output_dir(target, inputs=inputs, option=option)
    if resolved in _claims:
        yield resolved
        return
    created = _make_dirs(resolved.parent)
    try:
        with _locked(resolved, str(target), option):
            check_output_dir(target, inputs=inputs, option=option)  # again, now under the lock
            _claims.add(resolved)
            try:
                with uninterrupted():
                    for stale, partial in list(_stale(resolved)):
                        if partial:
                            _remove_partial(stale)
                        elif not remove_output(stale):
                            _kept(stale)
                yield resolved
            finally:
                _claims.discard(resolved)
    finally:
        with uninterrupted():
            _remove_empty(created)  # parents made for a result that never came


@contextlib.contextmanager
def atomic_directory(target: str | Path, *, kind: str = "run",
                     inputs: Iterable[str | Path] = (), option: str = "--out") -> Iterator[Path]:
    """Yield a marked temporary directory beside ``target``; when the block succeeds it
    replaces ``target`` in one rename, when it fails it is removed: a reader never sees a
    half-written result. ``target`` is claimed (:func:`claim_output`) meanwhile; it may only
    be replaced if it is perfsim's (marked) and holds nothing else, or is empty."""
    with claim_output(target, inputs=inputs, option=option) as resolved:
        with uninterrupted():
            tmp = _partial_path(resolved)
            tmp.mkdir()  # a plain mkdir (not mkdtemp, which is private): the user's umask
            write_marker(tmp, kind, resolved.name)
        try:
            yield tmp
            with uninterrupted():
                _seal(tmp)
                _publish(tmp, resolved, str(target), option)
        except BaseException:
            with uninterrupted():
                _remove_partial(tmp)
            raise


def _publish(tmp: Path, target: Path, where: str, option: str) -> None:
    """Rename the finished ``tmp`` to ``target``. A marked ``target`` is renamed aside first
    and removed after, so ``target`` is always whole; an empty one is replaced in place."""
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return
    marker = read_marker(target)
    if marker is None or marker["kind"] == REPORTS_KIND:
        if marker is None and target.is_dir() and not _entries(target):
            os.replace(tmp, target)  # rename(2) replaces an empty directory atomically
            return
        check_output_dir(where, option=option)  # raises, naming what it holds
        raise InputError(where, problem=f"cannot be replaced; choose another {option}")
    check_output_dir(where, option=option)  # again: a file saved into it while we worked
    old = _old_path(target)
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    if not remove_output(old):
        _kept(old)


def _kept(folder: Path) -> None:
    """One line on stderr: ``folder``, a former output set aside, still holds what perfsim
    did not write, and stays."""
    left = foreign_entries(folder) or [e for e in _entries(folder) if e != MARKER]
    print(f"perfsim: kept {_shown(folder)}: it holds {_holds(left)}, which perfsim cannot "
          "prove it wrote", file=sys.stderr)


def write_own_file(path: str | Path, text: Callable[[], str], signature: str,
                   option: str = "--out") -> Path:
    """Write a text file that perfsim regenerates in place (``reports/index.html``): refused if
    an existing one is not perfsim's (:func:`check_own_file`); ``text()`` is called and written
    whole under the file's lock (waiting for another writer up to a minute), then renamed into
    place."""
    path = Path(path)
    check_own_file(path, signature, option)
    with _locked(path.resolve(), str(path), option, wait=60.0):
        check_own_file(path, signature, option)
        prefix = glob.escape(f".{path.name}.partial-")
        for stale in path.parent.glob(prefix + "*"):
            if re.fullmatch(r"[0-9a-f]{32}", stale.name.removeprefix(f".{path.name}.partial-")):
                with contextlib.suppress(OSError):
                    stale.unlink()
        tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}")
        try:
            with open(tmp, "x", encoding="utf-8") as fh:  # the user's umask, unlike mkstemp
                fh.write(text())
            with uninterrupted():
                os.replace(tmp, path)
        except BaseException:
            with uninterrupted(), contextlib.suppress(OSError):
                tmp.unlink()
            raise
    return path


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """This process's environment as it was, once the block ends: Dask's LocalCluster sets
    variables for its workers in the parent's own environment and leaves them
    (``MALLOC_TRIM_THRESHOLD_=65536``, ``OMP_NUM_THREADS=1``, …), and every process started
    later inherits them — with that trim threshold a fresh process hands each freed array
    back to the system and faults it in again, at twice the CPU time."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k not in before]:
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored while worker processes start (they inherit it), so that Ctrl-C is the
    parent's alone to handle and the workers print no tracebacks of their own."""
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
