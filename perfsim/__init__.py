"""perfsim: simulate and calibrate budget performance management (预算绩效管理).

``perfsim.load(path)`` reads a scenario into the researcher's object
(:class:`perfsim.run.study.Scenario`); ``perfsim.vary`` runs it over a grid of parameters.
The package reads as the flow of data: ``kernel`` (pure array functions) ← ``model`` (inputs)
← ``run`` (one year, Monte Carlo, calibration, sensitivity) ← ``analyse`` ← ``present`` ←
``notebooks`` ← ``cli``.
"""

from perfsim.analyse.diagnose import diagnose
from perfsim.run.study import Scenario, load, vary
from perfsim.version import __version__

__all__ = ["Scenario", "__version__", "diagnose", "load", "vary"]
