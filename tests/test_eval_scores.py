"""Classifier-based scores: Fréchet distance against scipy, legibility and diversity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from hangulgan import hangul
from hangulgan.eval import metrics
from hangulgan.eval.classifier import Classifier
from hangulgan.eval.classifier_net import JAMO_HEADS, GlyphClassifierNet


def _scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    b = rng.normal(loc=0.5, scale=1.5, size=(300, 8)) @ rng.normal(size=(8, 8))
    assert metrics.frechet_distance(a, b) == pytest.approx(_scipy_frechet(a, b), rel=1e-6)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.frechet_distance(a[:1], b)


class _Oracle(Classifier):
    """A stand-in content classifier: reads the syllable index from a glyph's first pixels
    (code point − U+AC00 written base 256 into pixels 0 and 1), unsure when pixel 2
    is set."""

    def __init__(self) -> None:
        super().__init__(net=GlyphClassifierNet(dict(JAMO_HEADS)), task="content", meta={})

    def analyze(self, images, batch=1024):
        ink = torch.from_numpy(np.asarray(images)[:, 0, :3].astype(np.int64))
        index = ink[:, 0] * 256 + ink[:, 1]
        parts = {
            "initial": index // (hangul.N_MEDIALS * hangul.N_FINALS),
            "medial": (index // hangul.N_FINALS) % hangul.N_MEDIALS,
            "final": index % hangul.N_FINALS,
        }
        sharp = torch.where(ink[:, 2] > 0, 1.0, 30.0)[:, None]
        logits = {
            name: torch.nn.functional.one_hot(parts[name], n).float() * sharp
            for name, n in JAMO_HEADS
        }
        return np.zeros((len(images), 256)), logits


def _encoded(codepoints: list[int], unsure: list[bool]) -> np.ndarray:
    images = np.zeros((len(codepoints), 32, 32), np.uint8)
    for i, (cp, doubt) in enumerate(zip(codepoints, unsure, strict=True)):
        index = cp - hangul.FIRST
        images[i, 0, :3] = [index // 256, index % 256, 255 if doubt else 0]
    return images


def test_content_accuracy_legibility_and_diversity():
    oracle = _Oracle()
    codepoints = [ord(c) for c in "가나다라가"]
    images = _encoded(codepoints, [False, False, False, True, False])
    score = metrics.content_accuracy(oracle, images, np.array(codepoints))
    assert score["content_accuracy"] == 1.0
    wrong = np.array([ord(c) for c in "가나다라각"])  # the last one's final differs
    score = metrics.content_accuracy(oracle, images, wrong)
    assert score["content_accuracy"] == pytest.approx(0.8)
    assert score["initial_accuracy"] == 1.0 and score["final_accuracy"] == pytest.approx(0.8)
    read = metrics.legibility(oracle, images)
    # Four confident reads (가 twice, 나, 다): legibility 0.8, three distinct syllables.
    assert read["legibility"] == pytest.approx(0.8)
    assert read["diversity"] == 3
    # A classifier file's temperatures calibrate the reading: hot heads are never sure.
    oracle.meta["temperatures"] = {"initial": 100.0, "medial": 100.0, "final": 100.0}
    assert metrics.legibility(oracle, images)["legibility"] == 0.0
    with pytest.raises(ValueError, match="Hangul syllables"):
        metrics.content_accuracy(oracle, images[:1], np.array([ord("A")]))


def test_inference_form_matches_the_training_network():
    torch.manual_seed(0)
    net = GlyphClassifierNet(dict(JAMO_HEADS)).eval()
    for module in net.modules():  # batch norm statistics far from the identity
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
            module.bias.data.uniform_(-1, 1)
    classifier = Classifier(net=net, task="content", meta={})
    images = (np.random.default_rng(1).random((20, 32, 32)) * 255).astype(np.uint8)
    features, logits = classifier.analyze(images)
    with torch.no_grad():
        x = torch.from_numpy(images).float().div(127.5).sub(1)[:, None]
        reference = net(x)
        reference_features = net.features(x).double().numpy()
    assert np.abs(features - reference_features).max() < 1e-4
    for name, _ in JAMO_HEADS:
        assert torch.allclose(logits[name], reference[name], atol=1e-4)
