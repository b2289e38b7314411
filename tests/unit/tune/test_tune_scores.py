"""The Pareto front and the recommendation rule over variant scores."""

from __future__ import annotations

from obsbox.replay.scoring import Stat
from obsbox.tune.scores import VariantScore, pareto_front, recommend


def _s(caught: int, noise: int, det_max: float | None, det_med: float | None = None) -> VariantScore:
    return VariantScore(2, caught, caught / 2, noise, 1.0, Stat(det_med if det_med is not None else det_max, det_max), Stat(None, None), "critical")


def test_recommend_full_recall_then_fewest_noise_then_fastest() -> None:
    """Catching everything beats being quiet; among those, quiet beats fast; then fast; then fewest changes."""
    scores = [
        _s(1, 0, 60),  # misses one window
        _s(2, 3, 60),  # noisy
        _s(2, 0, 600),
        _s(2, 0, 300),
        _s(2, 0, 300),  # same scores as 3, more changes
    ]
    assert recommend(scores, [0, 1, 1, 2, 1]) == 4
    assert recommend(scores, [0, 1, 1, 1, 2]) == 3


def test_recommend_highest_recall_when_none_catches_all() -> None:
    assert recommend([_s(0, 0, None), _s(1, 5, 60)], [0, 1]) == 1


def test_pareto_front_drops_dominated_and_duplicate_variants() -> None:
    """A variant no better on any of recall, noise and worst detection is off the front."""
    scores = [_s(2, 0, 600), _s(2, 1, 60), _s(2, 1, 600), _s(1, 0, 60), _s(2, 0, 600)]
    assert pareto_front(scores) == [0, 1, 3]
