"""The random streams of a scenario seed — one registry, so every path draws the same way.

A scenario seed feeds :class:`numpy.random.SeedSequence`; each use has its own spawn key:

- ``portfolio`` (0): the synthetic portfolio generator;
- ``simulation`` (1, block): the Monte Carlo, one stream per fixed block of :data:`BLOCK`
  replications, so results do not depend on chunk size, workers or engine;
- ``sensitivity`` (2): the common random numbers shared by every parameter sample;
- ``rectification`` (3, block, year): whether projects fed back rectify — uniforms (rows,
  slots) per block of the Monte Carlo and year; the one-year run and the sensitivity take
  block 0, year 0, so the one-year run is replication 0 of the Monte Carlo's first year.
"""

from __future__ import annotations

import numpy as np

#: Replications per random block of the Monte Carlo.
BLOCK = 32
STREAMS: dict[str, int] = {"portfolio": 0, "simulation": 1, "sensitivity": 2,
                           "rectification": 3, "pre_evaluation": 4, "monitoring": 5}


def seed_sequence(seed: int, stream: str, *sub: int) -> np.random.SeedSequence:
    """The independent random stream ``stream`` (and sub-stream ``sub``) of a scenario seed."""
    return np.random.SeedSequence(int(seed), spawn_key=(STREAMS[stream], *map(int, sub)))


def generator(seed: int, stream: str, *sub: int) -> np.random.Generator:
    """A generator on :func:`seed_sequence`."""
    return np.random.default_rng(seed_sequence(seed, stream, *sub))


def rectification_draw(seed: int, rows: int, slots: int, block: int = 0, year: int = 0
                       ) -> np.ndarray:
    """Uniforms in [0, 1) (rows, slots) deciding rectification in ``year`` (0 = the first)
    for the rows of Monte Carlo block ``block``. Row-major, so the first ``n`` slots of row 0
    are the same whatever the number of rows or slots: the one-year run (block 0, year 0,
    one row) is replication 0 of the Monte Carlo."""
    return generator(seed, "rectification", block, year).random((rows, slots))


def pre_evaluation_draw(seed: int, rows: int, slots: int, block: int = 0, year: int = 0,
                        part: int = 0) -> np.ndarray:
    """Standard normals (rows, slots): the noise of the pre-evaluation's expected score in
    ``year`` for the rows of block ``block``; row-major like :func:`rectification_draw`, so the
    one-year run is replication 0 of the Monte Carlo's first year. ``part`` 1: the new
    projects' requests judged as they enter (a sub-stream of its own)."""
    sub = (block, year, part) if part else (block, year)
    return generator(seed, "pre_evaluation", *sub).standard_normal((rows, slots))


def monitoring_draw(seed: int, rows: int, slots: int, columns: int, block: int = 0,
                    year: int = 0) -> np.ndarray:
    """Standard normals (rows, slots, columns): the target-attainment noise of dual
    monitoring in ``year`` for the rows of block ``block``."""
    return generator(seed, "monitoring", block, year).standard_normal((rows, slots, columns))
