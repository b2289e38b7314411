"""The tune / held-out split: by recording, stratified by incident kind, seeded."""

from __future__ import annotations

from pathlib import Path

from obsbox.replay.recording import FireExpectation, Manifest, Window
from obsbox.tune.split import split_corpus


def _manifest(name: str, alert: str | None) -> Manifest:
    if alert is None:
        return Manifest(Path(f"{name}.yaml"), name, "noise", "d", "generated", Path(f"{name}.om"))
    return Manifest(
        Path(f"{name}.yaml"), name, "incident", "d", "generated", Path(f"{name}.om"),
        windows=(Window(0, 1),), fire=(FireExpectation(600, alert=alert),),
    )


CORPUS = [
    *(_manifest(f"slo-{i}", "Slo") for i in range(4)),
    *(_manifest(f"job-{i}", "Job") for i in range(2)),
    _manifest("lonely", "Tenant"),
    *(_manifest(f"noise-{i}", None) for i in range(5)),
]


def test_every_kind_with_two_recordings_is_in_both_parts() -> None:
    """Each stratum of two or more recordings lands on both sides; every recording on exactly one."""
    split = split_corpus(CORPUS, seed=13)
    assert sorted(split.tune + split.held_out) == sorted(m.name for m in CORPUS)
    assert not set(split.tune) & set(split.held_out)
    for prefix in ("slo-", "job-", "noise-"):
        assert any(n.startswith(prefix) for n in split.tune)
        assert any(n.startswith(prefix) for n in split.held_out)
    assert sum(n.startswith("slo-") for n in split.tune) == 2


def test_same_seed_same_split_other_seed_may_differ() -> None:
    """The split is a function of the corpus and the seed, not of the input order."""
    assert split_corpus(CORPUS, 13) == split_corpus(list(reversed(CORPUS)), 13)
    assert len({split_corpus(CORPUS, s).tune for s in range(20)}) > 1
