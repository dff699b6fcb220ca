"""The random streams of a scenario seed — one registry, so every path draws the same way.

A scenario seed feeds :class:`numpy.random.SeedSequence`; each use has its own spawn key:

- ``portfolio`` (0): the synthetic portfolio generator;
- ``simulation`` (1, block): the Monte Carlo, one stream per fixed block of :data:`BLOCK`
  replications, so results do not depend on chunk size, workers or engine;
- ``sensitivity`` (2): the common random numbers shared by every parameter sample.
"""

from __future__ import annotations

import numpy as np

#: Replications per random block of the Monte Carlo.
BLOCK = 32
STREAMS: dict[str, int] = {"portfolio": 0, "simulation": 1, "sensitivity": 2}


def seed_sequence(seed: int, stream: str, *sub: int) -> np.random.SeedSequence:
    """The independent random stream ``stream`` (and sub-stream ``sub``) of a scenario seed."""
    return np.random.SeedSequence(int(seed), spawn_key=(STREAMS[stream], *map(int, sub)))


def generator(seed: int, stream: str, *sub: int) -> np.random.Generator:
    """A generator on :func:`seed_sequence`."""
    return np.random.default_rng(seed_sequence(seed, stream, *sub))
