"""Drawing with a trained few-shot generator: styles from references, faces, mixes; weights.

:class:`StyledGenerator` wraps the generator side of a trained :mod:`styled` model with
everything it needs at inference and nothing from the training corpus:

* the content table (every syllable in the source face, as the model was trained on it);
* a *style bank*: for each face seen in training, the codes of its reference glyphs, so
  ``--style FACE``, ``--mix A:0.5,B:0.5`` and ``--style random`` work without the corpus;
* the placement geometry of the corpus, which every glyph set it writes carries.

Shipped weights are one safetensors file (tensors) with JSON metadata, read and written by
:mod:`hangulgan.models.styled_weights`: no pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.models.styled_config import StyledConfig, StyledDataConfig
from hangulgan.models.styled_data import StyledDataset, content_table
from hangulgan.models.styled_nets import StyledNet
from hangulgan.models.styled_split import DEFAULT_REFERENCES, greedy_reference_cover
from hangulgan.models.styled_weights import (
    SHIPPED_WEIGHTS,
    WHAT,
    load_net_state,
    read_styled_weights,
    write_styled_weights,
)

BANK_REFERENCES = 24  # references per face kept in the style bank


@dataclass
class Style:
    """A style to draw in: one or more reference sets, each with a weight (a mix)."""

    parts: list[tuple[float, torch.Tensor, torch.Tensor]] = field(default_factory=list)
    label: str = ""
    # uint8 lookup table applied to drawn pixels (see :func:`tone_curve`); None: as drawn
    tone: np.ndarray | None = None

    @property
    def reference_count(self) -> int:
        """References of the first part (the usual single-source style)."""
        return int(self.parts[0][1].shape[0]) if self.parts else 0


class StyledGenerator:
    """A trained few-shot generator ready to draw (see the module docstring)."""

    def __init__(
        self,
        config: StyledConfig,
        state: dict[str, torch.Tensor],
        content: np.ndarray,
        bank_names: Sequence[str],
        bank_codes: torch.Tensor,
        bank_jamo: torch.Tensor,
        bank_counts: Sequence[int],
        meta: dict[str, Any],
        data: StyledDataConfig | None = None,
    ) -> None:
        self.config = config
        self.data = data or StyledDataConfig()
        self.net = StyledNet(config)
        try:
            self.net.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(
                f"styled weights do not fit the configured network ({str(err).splitlines()[0]})"
            ) from None
        self.net.eval().requires_grad_(False)
        self.content = np.asarray(content, dtype=np.uint8)
        self.size = (int(self.content.shape[1]), int(self.content.shape[2]))
        self.bank_names = list(bank_names)
        self.bank_codes = bank_codes
        self.bank_jamo = bank_jamo
        self.bank_counts = list(bank_counts)
        self.meta = dict(meta)

    # -- loading ------------------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path | None = None) -> StyledGenerator:
        """Shipped weights (``None``), a weights file, or a trained styled run folder."""
        if source is None:
            if not SHIPPED_WEIGHTS.is_file():
                raise CheckpointError(
                    f"{SHIPPED_WEIGHTS}: the shipped styled weights are missing from this install"
                )
            return cls.from_weights(SHIPPED_WEIGHTS)
        path = Path(source)
        if path.is_dir():
            return cls.from_run(path)
        return cls.from_weights(path)

    @classmethod
    def from_weights(cls, path: str | Path) -> StyledGenerator:
        """Read a weights file written by :meth:`save`."""
        tensors, info = read_styled_weights(path)
        try:
            config = StyledConfig(**info["config"])
            data = StyledDataConfig(**info.get("data", {}))
            names = list(info["bank_faces"])
            counts = [int(c) for c in info["bank_counts"]]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: damaged {WHAT} metadata ({err})") from None
        state = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        return cls(
            config,
            state,
            tensors["content"].numpy(),
            names,
            tensors["bank.codes"].float(),
            tensors["bank.jamo"].long(),
            counts,
            info.get("meta", {}),
            data,
        )

    @classmethod
    def from_run(cls, run_dir: str | Path) -> StyledGenerator:
        """A trained styled run: its newest (EMA) weights, content face and style bank."""
        from hangulgan.data.corpus import Corpus
        from hangulgan.errors import RunError
        from hangulgan.train.config import RunConfig

        saved = RunConfig.load(run_dir)
        if saved.model != "styled":
            raise RunError(f"{run_dir}: holds a {saved.model!r} run, not a styled one")
        config = StyledConfig(**{**saved.model_config, "init_from": ""})
        data = saved.data
        state = load_net_state(run_dir)
        if not data.corpus:
            raise RunError(f"{run_dir}: the run does not name its corpus")
        corpus = Corpus.open(data.corpus)
        content = corpus.face(data.content_face, augmented=False)
        table = content_table(content.images, content.codepoints, corpus.size)
        faces = list(saved.data_info.get("face_names", []))
        generator = cls(
            config, state, table, [], torch.zeros(0, 0, 0), torch.zeros(0, 0, 3), [], {}, data
        )
        from hangulgan.data.placement import placement_meta

        generator.meta = {"placement": placement_meta(content), "run": str(run_dir)}
        generator.build_bank({name: corpus.face(name, augmented=False) for name in faces})
        return generator

    def build_bank(self, faces: dict[str, GlyphSet]) -> None:
        """Encode each face's references into the style bank (24 covering syllables each)."""
        wanted = [ord(c) for c in greedy_reference_cover(BANK_REFERENCES)]
        names, codes, jamo, counts = [], [], [], []
        for name, glyphs in faces.items():
            present = [cp for cp in wanted if cp in set(glyphs.codepoints.tolist())]
            if not present:
                continue
            images = np.stack([glyphs.image(cp) for cp in present])
            code = self._encode(images)
            pad = BANK_REFERENCES - len(present)
            names.append(name)
            counts.append(len(present))
            codes.append(torch.cat([code, code.new_zeros(pad, code.shape[1])]))
            cps = np.asarray(present + [present[0]] * pad, dtype=np.int64)
            jamo.append(torch.from_numpy(hangul.jamo_table(cps)))
        self.bank_names = names
        self.bank_counts = counts
        self.bank_codes = torch.stack(codes) if codes else torch.zeros(0, BANK_REFERENCES, 1)
        self.bank_jamo = torch.stack(jamo) if jamo else torch.zeros(0, BANK_REFERENCES, 3)

    def save(self, path: str | Path, extra_meta: dict[str, Any] | None = None) -> Path:
        """Write the generator (weights, content table, style bank, meta) as one file."""
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        tensors["content"] = torch.from_numpy(np.ascontiguousarray(self.content))
        tensors["bank.codes"] = self.bank_codes.float()
        tensors["bank.jamo"] = self.bank_jamo.to(torch.int16)
        info = {
            "config": self.config.to_dict() | {"init_from": ""},
            "data": asdict(self.data),
            "bank_faces": self.bank_names,
            "bank_counts": self.bank_counts,
            "meta": self.meta | (extra_meta or {}),
        }
        return write_styled_weights(path, tensors, info)

    def finetune(
        self,
        glyphs: GlyphSet,
        steps: int,
        batch: int = 64,
        lr: float = 1e-4,
        seed: int = 0,
        progress: bool = False,
    ) -> StyledGenerator:
        """A copy of this generator fine-tuned on one face's own glyphs, by the shared trainer.

        What ``complete`` does when a font draws many syllables: the generator then learns
        the font's details from all of them, not only from K references.
        """
        from hangulgan.models.styled import StyledModel
        from hangulgan.models.styled_adapt import finetune_config
        from hangulgan.train.config import TrainConfig
        from hangulgan.train.trainer import new_model, train

        if steps < 1:
            raise ConfigError(f"fine-tuning steps {steps}: must be 1 or more")
        data = StyledDataConfig(
            content_face=self.data.content_face,
            holdout_fraction=0.0,
            targets_per_face=self.data.targets_per_face,
            refs_min=self.data.refs_min,
            refs_max=self.data.refs_max,
        )
        dataset = StyledDataset.from_glyphsets([glyphs], self.content, data, seed=seed)
        train_config = TrainConfig(
            steps=steps,
            batch=batch,
            seed=seed,
            amp="off",
            log_every=max(1, steps // 10),
            sample_every=0,
            checkpoint_every=0,
            progress=progress,
        )
        model = new_model(StyledModel, finetune_config(self.config, lr), dataset, train_config)
        model.networks["net"].load_state_dict(self.net.state_dict())  # start from this one
        trained = train(model, train_config, dataset, None).model
        return self.with_weights(
            trained.networks["net"].state_dict(),
            {"finetuned": {"face": glyphs.name, "steps": steps}},
        )

    def adapted(
        self,
        images: np.ndarray,
        codepoints: Sequence[int],
        steps: int | None = None,
        seed: int = 0,
        progress: bool = False,
        label: str = "references",
    ) -> StyledGenerator:
        """A copy of this generator adapted to K references (uint8 K×H×W in its geometry),
        by the shared trainer (:mod:`hangulgan.models.styled_adapt`).

        ConfigError (naming ``label``) for references it cannot learn from;
        :class:`~hangulgan.models.styled_adapt.AdaptationDiverged` when the run diverges
        (this generator is unchanged: draw with it instead)."""
        from hangulgan.models.styled_adapt import ReferenceData, adapt_state, check_references
        from hangulgan.models.styled_config import DEFAULT_ADAPT_STEPS

        steps = DEFAULT_ADAPT_STEPS if steps is None else steps
        cps = np.asarray(codepoints, dtype=np.int64)
        check_references(images, cps, label)
        data = ReferenceData(images, cps, self.content, name=label, seed=seed)
        state = adapt_state(
            self.config, self.net.state_dict(), data, steps=steps, seed=seed, progress=progress
        )
        return self.with_weights(state, {"adapted": {"references": len(cps), "steps": steps}})

    def with_weights(self, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> StyledGenerator:
        """A copy of this generator with other network weights (same content, bank, data)."""
        return StyledGenerator(
            self.config,
            state,
            self.content,
            self.bank_names,
            self.bank_codes,
            self.bank_jamo,
            self.bank_counts,
            self.meta | meta,
            self.data,
        )

    # -- styles ---------------------------------------------------------------------------
    @torch.inference_mode()
    def _encode(self, images: np.ndarray) -> torch.Tensor:
        refs = torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1)
        return self.net.encode(refs.unsqueeze(1).unsqueeze(0))[0]

    def style_from_images(
        self,
        images: np.ndarray,
        codepoints: Sequence[int],
        label: str = "references",
        calibrate: bool = True,
    ) -> Style:
        """A style from K reference glyphs (uint8 K×H×W in this generator's geometry).

        ``calibrate`` (K ≥ 2): draw each reference from the other K-1 and fit the tone
        curve that maps those drawings' grey levels onto the real references' (see
        :func:`tone_curve`); :meth:`draw` applies it to everything drawn in this style.
        """
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != self.size or images.dtype != np.uint8:
            raise ConfigError(
                f"{label}: references must be uint8 K×{self.size[0]}×{self.size[1]} images, "
                f"got {images.dtype} {images.shape}"
            )
        if len(images) == 0 or len(images) != len(codepoints):
            raise ConfigError(f"{label}: {len(images)} images for {len(codepoints)} syllables")
        cps = np.asarray(codepoints, dtype=np.int64)
        jamo = torch.from_numpy(hangul.jamo_table(cps))
        codes = self._encode(images)
        tone = None
        if calibrate and len(images) >= 2:
            tone = tone_curve(self._draw_left_out(codes, jamo, cps), images)
        return Style([(1.0, codes, jamo)], label, tone)

    @torch.inference_mode()
    def _draw_left_out(
        self, codes: torch.Tensor, jamo: torch.Tensor, cps: np.ndarray
    ) -> np.ndarray:
        """Each reference drawn from the other K-1 (uint8 K×H×W): what the generator makes
        of this face where the truth is known, without showing it its own answer."""
        k = len(cps)
        others = torch.tensor([[j for j in range(k) if j != i] for i in range(k)])
        pooled = self.net.pool(codes[others], jamo[others], jamo, torch.arange(k))
        source = torch.from_numpy(self.content[cps - hangul.FIRST]).unsqueeze(1)
        images = self.net.generator(source.float().div_(127.5).sub_(1), jamo, pooled)
        return images[:, 0].add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy()

    def style_from_face(self, name: str) -> Style:
        """The style of a face seen in training, from the style bank."""
        if name not in self.bank_names:
            known = ", ".join(self.bank_names[:12]) + (" …" if len(self.bank_names) > 12 else "")
            raise ConfigError(f"unknown face {name!r} (faces seen in training: {known})")
        index = self.bank_names.index(name)
        count = self.bank_counts[index]
        return Style(
            [(1.0, self.bank_codes[index, :count], self.bank_jamo[index, :count].long())], name
        )

    def mix(self, weights: dict[str, float]) -> Style:
        """A blend of faces seen in training; weights must be positive and sum to 1."""
        if not weights:
            raise ConfigError("--mix needs at least one FACE:WEIGHT")
        if any(w <= 0 for w in weights.values()):
            raise ConfigError("--mix weights must be positive")
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-3:
            raise ConfigError(f"--mix weights sum to {total:g}, not 1")
        parts = []
        for name, weight in weights.items():
            parts += [(weight, codes, jamo) for _, codes, jamo in self.style_from_face(name).parts]
        label = "+".join(f"{name}:{w:g}" for name, w in weights.items())
        return Style(parts, label)

    def random_style(self, seed: int, faces: int = 3) -> Style:
        """A style no one drew: a random (Dirichlet) blend of a few faces seen in training."""
        if not self.bank_names:
            raise ConfigError("this generator has no style bank to sample from")
        rng = np.random.default_rng(seed)
        size = min(faces, len(self.bank_names))
        chosen = rng.choice(len(self.bank_names), size=size, replace=False)
        weights = rng.dirichlet(np.ones(len(chosen)))
        mix = {self.bank_names[i]: float(w) for i, w in zip(chosen, weights, strict=True)}
        style = self.mix({k: v / sum(mix.values()) for k, v in mix.items()})
        style.label = f"random(seed={seed}): {style.label}"
        return style

    # -- drawing --------------------------------------------------------------------------
    @torch.inference_mode()
    def draw(
        self,
        style: Style,
        codepoints: Sequence[int] | np.ndarray,
        batch: int = 256,  # measured: faster than 1024 on a 2-core CPU (activations stay cached)
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Glyphs (uint8 N×H×W, ink 255) of ``codepoints`` in ``style``."""
        cps = np.asarray(codepoints, dtype=np.int64)
        if cps.size and not all(hangul.is_syllable(int(c)) for c in (cps.min(), cps.max())):
            raise ConfigError("the styled generator draws Hangul syllables only")
        out = np.empty((len(cps), *self.size), dtype=np.uint8)
        net = self.net
        parts = [(w, codes.unsqueeze(0), jamo.unsqueeze(0)) for w, codes, jamo in style.parts]
        for begin in range(0, len(cps), batch):
            chunk = cps[begin : begin + batch]
            source = torch.from_numpy(self.content[chunk - hangul.FIRST]).unsqueeze(1)
            source = source.float().div_(127.5).sub_(1)
            jamo = torch.from_numpy(hangul.jamo_table(chunk))
            group = torch.zeros(len(chunk), dtype=torch.long)
            pooled = sum(
                weight * net.pool(codes, ref_jamo, jamo, group) for weight, codes, ref_jamo in parts
            )
            images = net.generator(source, jamo, pooled)
            drawn = images[:, 0].add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy()
            out[begin : begin + len(chunk)] = drawn if style.tone is None else style.tone[drawn]
            if progress:
                progress(len(chunk))
        return out

    def glyphset(
        self,
        style: Style,
        codepoints: Sequence[int] | np.ndarray,
        name: str = "generated",
        progress: Callable[[int], None] | None = None,
        placement: dict[str, Any] | None = None,
        keep: tuple[np.ndarray, Sequence[int]] | None = None,
    ) -> GlyphSet:
        """A glyph set ready for export-ttf and evaluate.

        ``placement`` is its placement meta (``placement`` and ``geometry``, see
        :mod:`hangulgan.data.placement`): the reference font's, when the references were
        rendered from one, so the export takes that font's baseline, advance and metrics;
        by default the content face's, in the training corpus' rule.

        ``keep`` (images, code points): glyphs that go into the set as given instead of
        drawn, e.g. the references the user drew (in this generator's geometry, so they
        are placed by the same rule as the rest); the meta lists them as ``kept``.
        """
        cps = np.asarray(codepoints, dtype=np.int64)
        kept = {}
        if keep is not None:
            kept = {int(cp): image for image, cp in zip(keep[0], keep[1], strict=True)}
        todo = np.asarray([cp for cp in cps.tolist() if cp not in kept], dtype=np.int64)
        drawn = self.draw(style, todo, progress=progress) if len(todo) else None
        images = np.zeros((len(cps), *self.size), dtype=np.uint8)
        if drawn is not None:
            images[~np.isin(cps, list(kept))] = drawn
        for row, cp in enumerate(cps.tolist()):
            if cp in kept:
                images[row] = kept[cp]
        if progress is not None and len(cps) > len(todo):
            progress(len(cps) - len(todo))
        meta = dict(placement if placement is not None else self.meta.get("placement", {}))
        meta |= {"generator": "styled", "style": style.label}
        if kept:
            meta["kept"] = "".join(chr(cp) for cp in cps.tolist() if cp in kept)
        return GlyphSet(images=images, codepoints=cps.astype(np.int32), name=name, meta=meta)


def tone_curve(drawn: np.ndarray, real: np.ndarray) -> np.ndarray:
    """The monotone grey-level map (uint8 lookup table of 256) that gives ``drawn``'s pixels
    the distribution of ``real``'s: quantile matching.

    Trained with L1, the generator hedges where it is unsure, so on a face unlike its
    training faces it draws strokes fainter and softer than the face's own (thin
    handwriting most of all), and tracing at a fixed ink threshold then breaks them. The
    references show how far off it is for this face; the map is monotone, so it changes
    contrast and weight but cannot add or move a stroke.
    """
    drawn_sorted = np.sort(np.asarray(drawn, dtype=np.float64).ravel())
    real_sorted = np.sort(np.asarray(real, dtype=np.float64).ravel())
    levels = np.arange(256, dtype=np.float64)
    # the share of drawn pixels at or below each level, then the real level at that share
    share = np.searchsorted(drawn_sorted, levels, side="right") / len(drawn_sorted)
    real_share = (np.arange(len(real_sorted)) + 1) / len(real_sorted)
    mapped = np.interp(share, real_share, real_sorted)
    mapped = np.maximum.accumulate(np.clip(np.round(mapped), 0, 255))
    mapped[0] = 0  # background stays background
    return mapped.astype(np.uint8)


def default_references() -> list[int]:
    """Code points of :data:`DEFAULT_REFERENCES`."""
    return [ord(c) for c in DEFAULT_REFERENCES]
