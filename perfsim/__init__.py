"""perfsim: simulate and calibrate budget performance management (预算绩效管理).

``perfsim.load(path)`` reads a scenario into the researcher's object
(:class:`perfsim.run.study.Scenario`); ``perfsim.vary`` runs it over a grid of parameters.
The package reads as the flow of data: ``kernel`` (pure array functions) ← ``model`` (inputs)
← ``run`` (one year, Monte Carlo, calibration, sensitivity) ← ``analyse`` ← ``present`` ←
``notebooks`` ← ``cli``.

``import perfsim`` itself is light: the names below load their modules on first use (PEP 562),
so that the ``perfsim`` command (:mod:`perfsim.start`) can take Ctrl-C before the heavy
libraries load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from perfsim.version import __version__

if TYPE_CHECKING:
    from perfsim.analyse.diagnose import diagnose
    from perfsim.run.study import Scenario, load, vary

__all__ = ["Scenario", "__version__", "diagnose", "load", "vary"]

#: where each public name lives
_HOMES = {"Scenario": "perfsim.run.study", "load": "perfsim.run.study",
          "vary": "perfsim.run.study", "diagnose": "perfsim.analyse.diagnose"}


def __getattr__(name: str) -> Any:
    """``perfsim.load`` and the other public names, loaded on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'perfsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
