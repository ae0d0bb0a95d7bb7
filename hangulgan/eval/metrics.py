"""Pixel metrics between two glyph sets: the one metrics module.

Every function takes two batches of glyphs, N×H×W (uint8 0..255 with 255 = ink, or float
in [0, 1]), and returns one value per glyph (a float64 numpy array), so that callers can
average, split or report them as they like. Everything is batched torch on the CPU (or the
device the tensors are on) and processed in chunks, so 11,172 glyphs fit in memory.

- :func:`ssim`: Wang et al. (2004) SSIM on [0, 1] at the glyphs' own size, gaussian window
  11 with σ 1.5, constants K1 = 0.01, K2 = 0.03, no padding (the mean over the "valid"
  part of the map). This equals scikit-image's ``structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1.0)`` (tested to 1e-4).
- :func:`ms_ssim`: MS-SSIM as the published few-shot font evaluators compute it, so that
  figures compare with theirs. DM-Font's ``evaluator.py`` (clovaai/dmfont, MIT; LF-Font and
  MX-Font copy it) takes glyphs normalised to [-1, 1], resizes them by bicubic
  interpolation with ``align_corners=True`` to 128×128, and calls ``ssim.py`` (from
  jorge-pessoa/pytorch-msssim) with 4 levels, weights [0.25, 0.3, 0.3, 0.15], an 11×11
  gaussian window of σ 1.5, no padding, 2×2 average pooling between levels and the value
  range L = 2 (found from the images' minimum and maximum). That code combines the levels
  as ``prod(mcs[:-1] ** w[:-1] * ssim[-1] ** w[-1])``, which by broadcasting raises the
  last level's SSIM to 3 × 0.15 rather than 0.15; we keep that, since it is what their
  published figures are. They average the maps over a batch before combining the levels;
  we combine per glyph and then average, so a figure does not depend on batch size. Where
  a level's mean contrast term is negative the power is not real (NaN in their code,
  logged as 0): such a glyph scores 0.
- :func:`shape_measures`: a face's drawing, not a comparison: mean stroke width (ink area
  over skeleton length, at 4× with bilinear interpolation: a stroke of width w and length L
  has area wL and a skeleton L long), slant (the shear of the ink's second moments, the
  deskew measure of handwriting recognition, in degrees; positive leans right) and ink
  coverage. A skeleton stops half a stroke width short of each free end, so its length is
  taken with each end point lengthened by w/2: w solves (E/2)·w² + L·w − A = 0 for ink area
  A, skeleton length L and E end points (exact for straight bars of any width).
  :func:`compare_glyphsets` reports the generated set's stroke width and slant
  against the real set's (``stroke_width_error``: relative; ``slant_error``: degrees).
- :func:`l1`, :func:`rmse`: on [0, 1]. :func:`psnr`: 10·log10(1 / MSE) on [0, 1], capped at
  100 dB for identical glyphs. :func:`ink_iou`: intersection over union of the pixels at or
  above half ink; two blank glyphs score 1.

:func:`compare_glyphsets` intersects two glyph sets on their shared code points and returns
the mean of every metric.

From a classifier (:mod:`hangulgan.eval.classifier`, taken as a :class:`GlyphReader`):

- :func:`content_accuracy`: share of glyphs whose initial, medial and final are all read
  right by the content classifier, and the accuracy of each jamo head.
- :func:`style_accuracy`: share of glyphs the style classifier gives to the intended face.
- :func:`glyph_fid`: the Fréchet distance between Gaussians fitted to the content
  classifier's penultimate (256-d) features of two glyph sets, as FID does with
  Inception's pool features (Heusel et al. 2017). Inception's ImageNet features say little
  about glyphs (and its weights cannot be downloaded here); these features were trained
  to tell jamo apart across faces.
- :func:`legibility`: for unconditional generators, the share of samples the content
  classifier reads with confidence ≥ 0.9 (each of the three heads' calibrated top
  probability), and the diversity: how many distinct syllables those legible reads are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError, GlyphSetError
from hangulgan.eval.ssim import check_window, ms_ssim_batch, ssim_terms

PSNR_CAP_DB = 100.0
INK_THRESHOLD = 0.5
CHUNK = 512  # glyphs per batch of the cheap metrics
# Glyphs per batch of SSIM and MS-SSIM: 64 × 128² float32 maps (4 MiB) stay near the cache;
# measured here, 6.0 s of CPU for 11,172 glyphs against 9.8 s in batches of 256.
SSIM_CHUNK = 64

PIXEL_METRICS = ("l1", "rmse", "psnr", "ssim", "ms_ssim", "ink_iou")
SHAPE_MEASURES = ("stroke_width", "slant", "coverage")
SHAPE_UPSCALE = 4  # skeletons of 32-px strokes one or two pixels wide are too coarse
LEGIBLE_CONFIDENCE = 0.9


class GlyphReader(Protocol):
    """What the classifier-based scores need of a classifier.

    :class:`hangulgan.eval.classifier.Classifier` is one; the scores take it through this
    protocol so that the metrics stay below the classifiers that use them (a classifier
    resizes glyphs with :func:`resize_glyphs`; its export measures with
    :func:`content_accuracy`).
    """

    task: str  # "content" (three jamo heads) or "style" (one face head)
    path: Path | None  # where it was read from, for messages

    @property
    def face_names(self) -> list[str]:
        """The faces it was trained on (a style classifier's classes, in order)."""
        ...

    def analyze(
        self, images: np.ndarray | torch.Tensor
    ) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """Penultimate features (N×D) and logits per head of uint8 N×H×W glyphs."""
        ...

    def logits(self, images: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head."""
        ...

    def features(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """Penultimate features (N×D)."""
        ...

    def read(
        self, images: np.ndarray | torch.Tensor, logits: dict[str, torch.Tensor] | None = None
    ) -> dict[str, np.ndarray]:
        """A content classifier's reading: ``codepoint``, ``confidence`` and ``jamo``."""
        ...


def to_unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Glyphs as a float32 N×1×H×W tensor in [0, 1] (1 = ink); uint8 input is divided by 255."""
    if not torch.is_tensor(images):
        array = np.asarray(images)
        # Memory-mapped glyph sets are read-only; torch wants a writable array.
        images = torch.from_numpy(array if array.flags.writeable else array.copy())
    tensor = images
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.ndim != 4 or tensor.shape[1] != 1:
        raise ValueError(f"expected N×H×W glyphs, got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    return tensor.float()


def _chunked(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    chunk: int = CHUNK,
) -> np.ndarray:
    if len(a) != len(b):
        raise ValueError(f"glyph batches differ in length: {len(a)} and {len(b)}")
    if len(a) and tuple(a.shape[-2:]) != tuple(b.shape[-2:]):
        raise ValueError(
            f"glyph batches differ in size: {tuple(a.shape[-2:])} and {tuple(b.shape[-2:])}"
        )
    out = []
    with torch.no_grad():
        for start in range(0, len(a), chunk):
            x = to_unit(a[start : start + chunk])[:, 0]
            y = to_unit(b[start : start + chunk])[:, 0]
            out.append(fn(x, y).double().cpu())
    if not out:
        return np.zeros(0, dtype=np.float64)
    return torch.cat(out).numpy()


def _ssim_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    check_window(x)
    return ssim_terms(x, y, 1.0)[0]


def ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph SSIM (Wang et al.) on [0, 1], gaussian window 11, σ 1.5, no padding."""
    return _chunked(_ssim_batch, a, b, chunk=SSIM_CHUNK)


def ms_ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph MS-SSIM by the DM-Font / LF-Font evaluator's protocol (module docstring)."""
    return _chunked(ms_ssim_batch, a, b, chunk=SSIM_CHUNK)


def l1(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph mean absolute difference on [0, 1]."""
    return _chunked(lambda x, y: (x - y).abs().mean(dim=(1, 2)), a, b)


def mse(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph mean squared difference on [0, 1]."""
    return _chunked(lambda x, y: (x - y).square().mean(dim=(1, 2)), a, b)


def rmse(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph root mean squared difference on [0, 1]."""
    return np.sqrt(mse(a, b))


def psnr_from_mse(errors: np.ndarray) -> np.ndarray:
    """PSNR in dB of [0, 1] images from their MSE, capped at 100 dB (identical glyphs)."""
    floor = 10 ** (-PSNR_CAP_DB / 10)
    return 10 * np.log10(1.0 / np.maximum(errors, floor))


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph PSNR in dB on [0, 1], capped at 100 dB."""
    return psnr_from_mse(mse(a, b))


def _iou_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    ink_x = x >= INK_THRESHOLD
    ink_y = y >= INK_THRESHOLD
    inter = (ink_x & ink_y).sum(dim=(1, 2)).double()
    union = (ink_x | ink_y).sum(dim=(1, 2)).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def ink_iou(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-glyph intersection over union of ink (pixels ≥ half ink); blank vs blank is 1."""
    return _chunked(_iou_batch, a, b)


def _all_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    check_window(x)
    diff = x - y
    return torch.stack(
        [
            diff.abs().mean(dim=(1, 2)).double(),
            diff.square().mean(dim=(1, 2)).double(),
            ssim_terms(x, y, 1.0)[0].double(),
            ms_ssim_batch(x, y),
            _iou_batch(x, y),
        ],
        dim=1,
    )


def pixel_metrics(
    a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor
) -> dict[str, np.ndarray]:
    """Every pixel metric per glyph: l1, rmse, psnr, ssim, ms_ssim and ink_iou."""
    table = _chunked(_all_batch, a, b, chunk=SSIM_CHUNK).reshape(-1, 5)
    return {
        "l1": table[:, 0],
        "rmse": np.sqrt(table[:, 1]),
        "psnr": psnr_from_mse(table[:, 1]),
        "ssim": table[:, 2],
        "ms_ssim": table[:, 3],
        "ink_iou": table[:, 4],
    }


@dataclass
class Alignment:
    """Two glyph sets restricted to their shared code points, in the same order."""

    generated: np.ndarray
    real: np.ndarray
    codepoints: np.ndarray
    notes: list[str] = field(default_factory=list)


def align_glyphsets(generated: GlyphSet, real: GlyphSet) -> Alignment:
    """Intersect two glyph sets on their code points (and size); notes say what was dropped.

    A set of another image size is resized (bilinear) to the real set's size, with a note.
    Raises :class:`GlyphSetError` when either set is empty or they share no code point.
    """
    for glyphs in (generated, real):
        if len(glyphs) == 0:
            raise GlyphSetError(f"{glyphs.name}: glyph set has no code points")
    shared, gen_index, real_index = np.intersect1d(
        generated.codepoints, real.codepoints, assume_unique=True, return_indices=True
    )
    if not shared.size:
        raise GlyphSetError(
            f"{generated.name} and {real.name}: no code point in common "
            f"({len(generated)} and {len(real)} glyphs)"
        )
    notes = []
    if shared.size < len(generated) or shared.size < len(real):
        notes.append(
            f"compared on the {shared.size} code points both hold "
            f"({generated.name}: {len(generated)}, {real.name}: {len(real)})"
        )
    # intersect1d returns the shared code points sorted; index both sets in that order.
    gen_images = np.asarray(generated.images)[gen_index]
    real_images = np.asarray(real.images)[real_index]
    if gen_images.shape[1:] != real_images.shape[1:]:
        notes.append(
            f"{generated.name} is {gen_images.shape[1]}×{gen_images.shape[2]}, "
            f"{real.name} {real_images.shape[1]}×{real_images.shape[2]}: "
            f"{generated.name} resized (bilinear) to {real_images.shape[1]}×{real_images.shape[2]}"
        )
        gen_images = resize_glyphs(gen_images, real_images.shape[1:])
    return Alignment(gen_images, real_images, shared.astype(np.int32), notes)


def resize_glyphs(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 N×H×W glyphs resized to ``size`` with bilinear interpolation (antialiased)."""
    out = []
    with torch.no_grad():
        for start in range(0, len(images), CHUNK):
            x = to_unit(images[start : start + CHUNK])
            y = F.interpolate(x, size=tuple(size), mode="bilinear", antialias=True)
            out.append((y[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy())
    return np.concatenate(out) if out else np.zeros((0, *size), dtype=np.uint8)


def _end_points(bones: np.ndarray) -> int:
    """Skeleton pixels with exactly one 8-connected neighbour."""
    padded = np.pad(bones.astype(np.uint8), 1)
    height, width = bones.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    return int((bones & (neighbours == 1)).sum())


def shape_measures(images: np.ndarray | torch.Tensor) -> dict[str, float]:
    """Stroke width (pixels of the glyphs' own size), slant (degrees) and ink coverage of a
    batch of glyphs taken together (see the module docstring); blank glyphs add nothing."""
    from skimage.morphology import skeletonize

    area = skeleton = ends = 0.0
    shear_num = shear_den = ink_sum = pixels = 0.0
    with torch.no_grad():
        for start in range(0, len(images), CHUNK):
            x = to_unit(images[start : start + CHUNK])
            big = F.interpolate(x, scale_factor=SHAPE_UPSCALE, mode="bilinear") >= INK_THRESHOLD
            masks = big[:, 0].numpy()
            area += float(masks.sum())
            for mask in masks:
                bones = skeletonize(mask)
                skeleton += float(bones.sum())
                ends += float(_end_points(bones))
            w = x[:, 0].double()
            height, width = w.shape[1:]
            ys = torch.arange(height, dtype=torch.float64).view(1, -1, 1)
            xs = torch.arange(width, dtype=torch.float64).view(1, 1, -1)
            mass = w.sum(dim=(1, 2)).clamp_min(1e-9)
            cy = (w * ys).sum(dim=(1, 2)) / mass
            cx = (w * xs).sum(dim=(1, 2)) / mass
            dy = ys - cy.view(-1, 1, 1)
            dx = xs - cx.view(-1, 1, 1)
            # image rows grow downward: ink whose x falls as y grows leans right
            shear_num -= float((w * dx * dy).sum())
            shear_den += float((w * dy * dy).sum())
            ink_sum += float(w.sum())
            pixels += float(w.numel())
    if ends:
        width = (-skeleton + math.sqrt(skeleton**2 + 2 * ends * area)) / ends
    else:  # closed loops only: nothing to lengthen
        width = area / skeleton if skeleton else 0.0
    return {
        "stroke_width": width / SHAPE_UPSCALE,
        "slant": float(np.degrees(np.arctan(shear_num / shear_den))) if shear_den else 0.0,
        "coverage": ink_sum / pixels if pixels else 0.0,
    }


def compare_glyphsets(
    generated: GlyphSet,
    real: GlyphSet,
    classifier: GlyphReader | None = None,
    style_classifier: GlyphReader | None = None,
    face: str | None = None,
) -> dict[str, Any]:
    """Means of the metrics over the code points both sets hold.

    Always: ``count``, ``notes`` (what the intersection dropped or resized) and the pixel
    metrics (:data:`PIXEL_METRICS`), the generated glyphs' :func:`shape_measures` and their
    errors against the real glyphs' (``stroke_width_error``, ``slant_error``). With a
    content ``classifier``: the generated glyphs' ``content_accuracy`` and per-jamo
    accuracy, and ``glyph_fid`` against the real ones. With a ``style_classifier`` and the
    real ``face`` it was trained on: ``style_accuracy``.
    """
    aligned = align_glyphsets(generated, real)
    per_glyph = pixel_metrics(aligned.generated, aligned.real)
    result: dict[str, Any] = {"count": int(aligned.codepoints.size), "notes": aligned.notes}
    for name in PIXEL_METRICS:
        result[name] = float(per_glyph[name].mean())
    drawn, truth = shape_measures(aligned.generated), shape_measures(aligned.real)
    result |= drawn
    if truth["stroke_width"]:
        result["stroke_width_error"] = drawn["stroke_width"] / truth["stroke_width"] - 1
    result["slant_error"] = drawn["slant"] - truth["slant"]
    if classifier is not None:
        # One pass over each set: the generated glyphs' features serve both scores.
        gen_features, gen_logits = classifier.analyze(aligned.generated)
        syllables = (aligned.codepoints >= hangul.FIRST) & (aligned.codepoints <= hangul.LAST)
        if syllables.any():
            picked = {
                name: value[torch.from_numpy(syllables)] for name, value in gen_logits.items()
            }
            result |= content_accuracy(
                classifier,
                aligned.generated[syllables],
                aligned.codepoints[syllables],
                logits=picked,
            )
        if len(aligned.codepoints) >= 2:
            if classifier.task != "content":
                raise ConfigError(
                    f"{classifier.path or 'classifier'}: Glyph-FID needs a content classifier"
                )
            result["glyph_fid"] = frechet_distance(gen_features, classifier.features(aligned.real))
    if style_classifier is not None and face is not None:
        result["style_accuracy"] = style_accuracy(style_classifier, aligned.generated, face)
    return result


# ----------------------------------------------------------------- classifier metrics


def content_accuracy(
    classifier: GlyphReader,
    images: np.ndarray,
    codepoints: np.ndarray,
    logits: dict[str, torch.Tensor] | None = None,
) -> dict[str, float]:
    """Share of glyphs whose three jamo are all read right, and per-jamo accuracy.

    ``logits``: the classifier's, already computed for ``images`` (saves a pass)."""
    if len(images) != len(codepoints):
        raise ValueError(f"{len(images)} images but {len(codepoints)} code points")
    if not len(images):
        raise ValueError("no glyph to classify")
    codepoints = np.asarray(codepoints, dtype=np.int64)
    if not all(hangul.is_syllable(int(cp)) for cp in codepoints):
        raise ValueError("content accuracy needs Hangul syllables (U+AC00..U+D7A3)")
    read = classifier.read(images, logits)
    truth = hangul.jamo_table(codepoints)
    right = read["jamo"] == truth
    return {
        "content_accuracy": float(right.all(axis=1).mean()),
        "initial_accuracy": float(right[:, 0].mean()),
        "medial_accuracy": float(right[:, 1].mean()),
        "final_accuracy": float(right[:, 2].mean()),
    }


def style_accuracy(classifier: GlyphReader, images: np.ndarray, face: str) -> float:
    """Share of glyphs a style classifier assigns to ``face`` (one it was trained on)."""
    where = classifier.path or "classifier"
    if classifier.task != "style":
        raise ConfigError(f"{where}: is a {classifier.task} classifier, not a style classifier")
    if face not in classifier.face_names:
        raise ConfigError(
            f"{where}: was not trained on face {face!r} "
            f"(it knows {len(classifier.face_names)} faces)"
        )
    predicted = classifier.logits(images)["face"].argmax(dim=1).numpy()
    return float((predicted == classifier.face_names.index(face)).mean())


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two N×D feature arrays.

    ``‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½)``; the last trace is taken from the
    eigenvalues of a symmetric matrix, which stays stable where Σ is rank-deficient.
    """
    if len(features_a) < 2 or len(features_b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples on each side")
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    mean_diff = a.mean(axis=0) - b.mean(axis=0)
    cov_a = np.cov(a, rowvar=False)
    cov_b = np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    distance = float(mean_diff @ mean_diff + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    return max(distance, 0.0)  # rounding can leave identical sets a hair below zero


def glyph_fid(classifier: GlyphReader, images_a: np.ndarray, images_b: np.ndarray) -> float:
    """Glyph-FID: the Fréchet distance of the content classifier's features of two sets."""
    if classifier.task != "content":
        raise ConfigError(
            f"{classifier.path or 'classifier'}: Glyph-FID needs a content classifier"
        )
    return frechet_distance(classifier.features(images_a), classifier.features(images_b))


def legibility(classifier: GlyphReader, images: np.ndarray) -> dict[str, float]:
    """``legibility``: share read with confidence ≥ 0.9; ``diversity``: distinct syllables
    among those legible reads (``distinct_share``: that count over the samples)."""
    if not len(images):
        raise ValueError("no glyph to read")
    read = classifier.read(images)
    legible = read["confidence"] >= LEGIBLE_CONFIDENCE
    distinct = int(np.unique(read["codepoint"][legible]).size)
    return {
        "legibility": float(legible.mean()),
        "diversity": distinct,
        "distinct_share": distinct / len(images),
        "samples": len(images),
    }
