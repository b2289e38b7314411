"""Tune / held-out parts of a corpus: by recording, stratified by incident kind (pure).

A recording's kind is what it asks of the rules: noise recordings form one stratum, incidents
one per set of expectations (the alerts or severities they name), so that both parts get
incidents of each kind the corpus has two of or more. Within a stratum the recordings are
shuffled with a seeded generator (same seed, same split) and dealt alternately; a stratum of one
goes to whichever part has fewer recordings of its class so far, so singletons spread evenly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from obsbox.replay.recording import Manifest

DEFAULT_SEED = 13


@dataclass(frozen=True)
class Split:
    tune: tuple[str, ...]  # recording names
    held_out: tuple[str, ...]
    seed: int


def stratum(manifest: Manifest) -> str:
    if manifest.kind == "noise":
        return "noise"
    asks = sorted({e.alert or f"severity {e.severity}" for e in manifest.fire})
    return "incident: " + ", ".join(asks)


def split_corpus(manifests: Sequence[Manifest], seed: int = DEFAULT_SEED) -> Split:
    strata: dict[str, list[str]] = {}
    for m in sorted(manifests, key=lambda m: m.name):
        strata.setdefault(stratum(m), []).append(m.name)
    rng = random.Random(seed)
    tune: list[str] = []
    held: list[str] = []
    counts = {"incident": [0, 0], "noise": [0, 0]}
    for key in sorted(strata):
        names = strata[key]
        rng.shuffle(names)
        cls = "noise" if key == "noise" else "incident"
        # Which part gets the stratum's first recording: the one that has fewer so far.
        first = 0 if counts[cls][0] <= counts[cls][1] else 1
        for k, name in enumerate(names):
            part = (first + k) % 2
            (tune if part == 0 else held).append(name)
            counts[cls][part] += 1
    return Split(tuple(sorted(tune)), tuple(sorted(held)), seed)
