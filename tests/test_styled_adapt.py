"""Adaptation to the references: the plan, the data, the trainer run and its guards."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hangulgan import hangul
from hangulgan.errors import AdaptationDiverged, ConfigError
from hangulgan.models.styled_adapt import (
    PROBES,
    AdaptPlan,
    DivergenceWatch,
    ReferenceData,
    adapt_state,
    check_references,
)
from hangulgan.models.styled_config import StyledConfig
from hangulgan.models.styled_nets import StyledNet

TINY = StyledConfig(width=4, style_dim=8, jamo_dim=4, res_blocks=1)
SYLLABLES = [ord(c) for c in "다헌쳇입술특꽃봤가나"]


def _glyphs(codepoints: list[int], seed: int) -> np.ndarray:
    """A distinct blocky drawing per syllable (ink 255 on 0)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((len(codepoints), 32, 32), dtype=np.uint8)
    for image in images:
        for _ in range(3):
            top, left = rng.integers(2, 24, size=2)
            tall, wide = rng.integers(2, 8, size=2)
            image[top : top + tall, left : left + wide] = 255
    return images


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    table = np.zeros((hangul.N_SYLLABLES, 32, 32), dtype=np.uint8)
    table[np.asarray(SYLLABLES) - hangul.FIRST] = _glyphs(SYLLABLES, seed=1)
    return table


@pytest.mark.parametrize(
    ("k", "per_group", "groups", "refs"),
    [(2, 1, 2, 1), (8, 1, 8, 7), (16, 4, 4, 12), (24, 4, 6, 16), (64, 4, 8, 16), (256, 4, 8, 16)],
)
def test_plan_draws_each_target_from_other_references(k, per_group, groups, refs):
    plan = AdaptPlan.for_references(k)
    assert (plan.targets_per_group, plan.groups, plan.refs_per_target) == (per_group, groups, refs)
    assert plan.batch <= k and plan.refs_per_target <= k - plan.targets_per_group


def test_plan_needs_two_references():
    with pytest.raises(ConfigError, match="at least 2 references"):
        AdaptPlan.for_references(1)


def test_batches_never_show_a_target_among_its_references_and_repeat_for_the_same_indices(
    content,
):
    cps = np.asarray(SYLLABLES[:8])
    data = ReferenceData(_glyphs(SYLLABLES[:8], seed=2), cps, content, seed=5)
    indices = np.random.default_rng(0).permutation(8)
    batch = data.get_batch(indices)
    assert batch["image"].shape == (8, 1, 32, 32) and batch["refs"].shape == (8, 7, 1, 32, 32)
    for group in range(8):
        target = batch["image"][batch["group"] == group]
        refs = batch["refs"][group]
        assert not any(torch.equal(target[0], ref) for ref in refs)
    again = data.get_batch(indices)
    assert all(torch.equal(batch[k], again[k]) for k in batch)
    # the content loss's probes: random syllables, each with its content-face source
    assert batch["probe_source"].shape == (PROBES, 1, 32, 32)
    for source, jamo in zip(batch["probe_source"], batch["probe_jamo"], strict=True):
        cp = ord(hangul.compose(*map(int, jamo)))
        expected = torch.from_numpy(content[cp - hangul.FIRST]).float() / 127.5 - 1
        assert torch.equal(source[0], expected)
    # the source is the content face's drawing of the same syllable as the target
    first = int(np.flatnonzero(cps == SYLLABLES[indices[0]])[0])
    assert torch.equal(batch["source"][0], data.get_batch(np.array([first] * 8))["source"][0])


@pytest.mark.parametrize(
    ("images", "cps", "message"),
    [
        (np.zeros((3, 32, 32), np.uint8), SYLLABLES[:3], "blank reference"),
        (np.full((3, 32, 32), 255, np.uint8), SYLLABLES[:3], "same image"),
        (np.full((3, 32, 32), 255, np.uint8), [0x41, *SYLLABLES[:2]], "U\\+0041 is not one"),
        (np.full((1, 32, 32), 255, np.uint8), SYLLABLES[:1], "at least 2"),
    ],
)
def test_references_adaptation_cannot_learn_from_are_refused(images, cps, message):
    with pytest.raises(ConfigError, match=f"refs/: .*{message}"):
        check_references(images, np.asarray(cps), "refs/")


def _adapt(content, state, steps=30, seed=0, lr=3e-3):
    data = ReferenceData(_glyphs(SYLLABLES, seed=3), np.asarray(SYLLABLES), content, seed=seed)
    return adapt_state(TINY, state, data, steps=steps, lr=lr, seed=seed)


def _loss(net: StyledNet, data: ReferenceData) -> float:
    batch = data.get_batch(np.arange(len(data)))
    with torch.no_grad():
        codes = net.encode(batch["refs"])
        fake = net(batch["source"], batch["jamo"], codes, batch["ref_jamo"], batch["group"])
    return float((fake - batch["image"]).abs().mean())


def test_adaptation_learns_the_references_deterministically(content):
    torch.manual_seed(0)
    start = StyledNet(TINY).state_dict()
    tuned = _adapt(content, start)
    again = _adapt(content, start)
    assert all(torch.equal(tuned[k], again[k]) for k in tuned)  # same seed, same weights
    other = _adapt(content, start, seed=1)
    assert any(not torch.equal(tuned[k], other[k]) for k in tuned)
    data = ReferenceData(_glyphs(SYLLABLES, seed=3), np.asarray(SYLLABLES), content)
    before, after = StyledNet(TINY), StyledNet(TINY)
    before.load_state_dict(start)
    after.load_state_dict(tuned)
    assert _loss(after, data) < 0.8 * _loss(before, data)
    # the weights it started from are not touched
    assert all(torch.equal(start[k], before.state_dict()[k]) for k in start)


def test_adaptation_of_the_shipped_weights_repeats_bit_for_bit_on_two_threads():
    """With two threads the backward of ``codes[group]`` summed in a varying order: two
    adaptations with one seed differed after one step (15 of 74 weight gradients)."""
    from hangulgan.models.styled_inference import StyledGenerator

    generator = StyledGenerator.load()
    cps = [hangul.FIRST + 37 * i for i in range(40)]
    images = generator.content[np.asarray(cps) - hangul.FIRST]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first, second = (generator.adapted(images, cps, steps=2).net.state_dict() for _ in range(2))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.are_deterministic_algorithms_enabled()  # the process's setting is back


def test_non_finite_weights_stop_adaptation(content):
    torch.manual_seed(0)
    state = StyledNet(TINY).state_dict()
    state["generator.out.weight"] = torch.full_like(state["generator.out.weight"], float("nan"))
    with pytest.raises(AdaptationDiverged, match="adaptation stopped: the loss became nan"):
        _adapt(content, state, steps=5)


class _Trainer:
    stopped = False

    def request_stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(
    ("losses", "reason"),
    [
        ([0.3, 0.2, 0.1], ""),
        ([0.3, 0.25, 1.5], "rose from 0.3000 to 1.5000 at step 3"),
        ([0.3, float("inf")], "became inf at step 2"),
    ],
)
def test_divergence_watch(losses, reason):
    watch, trainer = DivergenceWatch(), _Trainer()
    for step, value in enumerate(losses, start=1):
        watch(trainer, step, {"l1": torch.tensor(value)})
    assert watch.reason.endswith(reason) and bool(watch.reason) == bool(reason)
    assert trainer.stopped == bool(reason)
