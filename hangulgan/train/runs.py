"""Reading finished (or running) runs: load a model for sampling, write grids and glyph
sets, list the runs of a folder."""

from __future__ import annotations

import copy
import csv
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hangulgan import hangul
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import CheckpointError, ConfigError, HangulganError, RunError
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.checkpoint_checks import check_fits
from hangulgan.train.config import CONFIG_FILE, RunConfig
from hangulgan.train.contract import Capability, DataInfo, Model
from hangulgan.train.device import resolve_device
from hangulgan.train.grid import save_grid, to_uint8_ink
from hangulgan.train.registry import get_model_class
from hangulgan.train.rundir import METRICS_FILE, SAMPLES_DIR
from hangulgan.train.sampler import fixed_batch
from hangulgan.train.trainer import build_model


@dataclass
class LoadedRun:
    """A run's model restored from one of its checkpoints."""

    run_dir: Path
    config: RunConfig
    model: Model
    ema: dict[str, nn.Module]
    step: int
    checkpoint: Path

    def networks(self, use_ema: bool = True) -> dict[str, nn.Module] | None:
        """The networks to sample with: the EMA copies when kept and wanted."""
        return self.ema if (use_ema and self.ema) else None


def open_run(
    run_dir: str | Path, checkpoint: str | Path | None = None, device: str = "cpu"
) -> LoadedRun:
    """Rebuild a run's model from its config and a checkpoint (the newest by default)."""
    run_dir = Path(run_dir)
    config = RunConfig.load(run_dir)
    path = Path(checkpoint) if checkpoint else ckpt.latest_checkpoint(run_dir)
    if path is None:
        raise CheckpointError(f"{run_dir}: has no checkpoint yet")
    saved = ckpt.read_checkpoint(path)
    if saved.model != config.model:
        raise CheckpointError(f"{path}: holds a {saved.model!r} model, the run is {config.model!r}")
    info = DataInfo.from_dict(config.data_info)
    model = build_model(config.model, config.model_config, info).to(resolve_device(device))
    ema: dict[str, nn.Module] = {}
    for name in saved.state.get("ema", []):
        if name not in model.networks:
            raise CheckpointError(f"{path}: holds EMA weights of {name!r}, a network it lacks")
        ema[name] = copy.deepcopy(model.networks[name])
    check_fits(saved, model.networks, ema=ema)
    ckpt.load_networks(saved, model.networks)
    if ema:
        ckpt.load_networks(saved, ema, prefix="ema")
    model.train(False)
    return LoadedRun(run_dir, config, model, ema, saved.step, path)


def _syllables(text: str | None, charset: str | None) -> list[int] | None:
    """The syllables asked for: ``text`` in the order typed, repeats kept; or a charset."""
    if text and charset:
        raise ConfigError("give --text or --charset, not both")
    try:
        if text:
            typed = [ord(ch) for ch in text if hangul.is_syllable(ord(ch))]
            if not typed:
                raise ValueError(f"--text {text!r}: holds no Hangul syllable (U+AC00..U+D7A3)")
            return typed
        if charset:
            return hangul.resolve_charset(charset)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return None


def run_capabilities(run: LoadedRun) -> frozenset[Capability]:
    """What the run's model can produce (see :class:`~hangulgan.train.contract.Capability`)."""
    return type(run.model).capabilities(run.model.config)


def _require(run: LoadedRun, capability: Capability, why: str) -> None:
    if capability not in run_capabilities(run):
        raise ConfigError(f"{run.run_dir}: the {run.config.model} model {why}")


def sample_images(
    run: LoadedRun,
    n: int,
    *,
    seed: int = 0,
    syllables: list[int] | None = None,
    shared_noise: bool = False,
    use_ema: bool = True,
) -> torch.Tensor:
    """``n`` images from a run's generator (N×C×H×W in [-1, 1]), in float32."""
    if n < 1:
        raise ConfigError(f"--n {n}: must be 1 or more")
    model = run.model
    if syllables:
        hint = " (train with --conditional)" if run.config.model == "dcgan" else ""
        _require(
            run,
            Capability.SYLLABLES,
            f"is unconditional here and cannot draw given syllables{hint}",
        )
    generator = torch.Generator().manual_seed(seed)
    real = None
    if model.samples_need_data:  # the fixed real batch the trainer's grids used
        dataset = type(model).make_dataset(run.config.data, model.config)
        real = fixed_batch(dataset, n, run.config.train.seed)
    inputs = model.sample_inputs(
        n, generator, syllables=syllables, shared_noise=shared_noise, real=real
    )
    return model.generate(inputs, run.networks(use_ema))


def write_grid(
    run_dir: str | Path,
    out: str | Path,
    *,
    n: int | None = None,
    seed: int = 0,
    text: str | None = None,
    charset: str | None = None,
    checkpoint: str | Path | None = None,
    use_ema: bool = True,
    device: str = "cpu",
) -> Path:
    """Sample ``n`` glyphs from a run into one grid PNG (``n`` by default: the typed
    ``text``, in order with its repeats, else 64)."""
    run = open_run(run_dir, checkpoint, device)
    _require(run, Capability.GRID, "draws no sample grid")
    syllables = _syllables(text, charset)
    if n is None:
        n = len(syllables) if text and syllables else 64
    images = sample_images(run, n, seed=seed, syllables=syllables, use_ema=use_ema)
    return save_grid(images, out, ink=run.model.info.ink)


def run_placement(run: LoadedRun) -> dict[str, Any]:
    """The placement meta (see :func:`hangulgan.data.placement.placement_meta`) of the
    glyphs a run trained on: recorded in its config, or, for runs saved before it was, read
    from its corpus when that is still there ({} otherwise: export-ttf then says so)."""
    recorded = DataInfo.from_dict(run.config.data_info).placement
    if recorded:
        return dict(recorded)
    folder = getattr(run.config.data, "corpus", None)  # every model's data config may not
    faces = getattr(run.config.data, "faces", None)  # name a corpus and faces
    if not folder:
        return {}
    try:
        from hangulgan.data.corpus import Corpus
        from hangulgan.data.placement import placement_meta

        corpus = Corpus.open(folder)
        return placement_meta([corpus.face(name) for name in faces or corpus.face_names])
    except HangulganError:
        return {}


def write_glyphset(
    run_dir: str | Path,
    out: str | Path,
    *,
    text: str | None = None,
    charset: str | None = None,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    use_ema: bool = True,
    force: bool = False,
    device: str = "cpu",
) -> GlyphSet:
    """Draw one glyph per requested syllable into a glyph set folder (the corpus face format).

    Only a conditional model knows which syllable it draws, so an unconditional run is
    refused. Every glyph shares one noise vector (``seed``), so the set reads as one face.
    Without ``text``/``charset`` the syllables the run trained on are drawn.
    """
    run = open_run(run_dir, checkpoint, device)
    if Capability.GLYPH_SET not in run_capabilities(run):
        hint = "; train with --conditional" if run.config.model == "dcgan" else ""
        raise ConfigError(
            f"{run.run_dir}: this {run.config.model} model (unconditional) cannot say which "
            f"syllable it drew, so it cannot fill a glyph set{hint} (or write a grid with --out)"
        )
    syllables = _syllables(text, charset)
    if syllables is not None:
        syllables = list(dict.fromkeys(syllables))  # one glyph per syllable, in typed order
    if syllables is None and run.model.info.syllables:
        syllables = hangul.charset_from_text(run.model.info.syllables)
    if syllables is None:
        spec = run.config.data.charset or "all"
        try:
            syllables = hangul.resolve_charset(spec)
        except ValueError:
            raise ConfigError(
                f"{run.run_dir}: its training charset {spec!r} cannot be read now; "
                "give --text or --charset"
            ) from None
    images = sample_images(
        run, len(syllables), seed=seed, syllables=syllables, shared_noise=True, use_ema=use_ema
    )
    glyphs = GlyphSet(
        images=to_uint8_ink(images),
        codepoints=np.asarray(syllables, dtype=np.int32),
        name=f"{run.run_dir.name}-step{run.step}",
        meta={
            "source": "hangulgan sample",
            "run": str(run.run_dir),
            "model": run.config.model,
            "step": run.step,
            "seed": seed,
            "ema": bool(use_ema and run.ema),
            **run_placement(run),
        },
    )
    save_glyphset_replacing(glyphs, Path(out), force)
    return glyphs


# what GlyphSet.save writes into its folder (a --force replaces these and nothing else)
GLYPHSET_FILES = (
    "glyphset.json",
    "images.npy",
    "codepoints.npy",
    "augmented.npy",
    "augment_params.npy",
)


def save_glyphset_replacing(glyphs: GlyphSet, out: Path, force: bool) -> None:
    """Write ``glyphs`` to folder ``out``; with ``force`` an existing folder keeps every file
    that is not part of a glyph set (a user's notes), and the set's own files are replaced."""
    if not out.exists() or not force:
        glyphs.save(out, overwrite=False)
        return
    if not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        written = glyphs.save(staging / "set")
        new = {p.name for p in written.iterdir()}  # what this glyph set consists of
        # the header last: a reader never sees a header that describes other arrays
        order = sorted(new, key=lambda name: name == "glyphset.json")
        (out / "glyphset.json").unlink(missing_ok=True)
        for name in set(GLYPHSET_FILES) - new:
            (out / name).unlink(missing_ok=True)
        for name in order:
            (written / name).replace(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class RunSummary:
    """One line of ``hangulgan runs list``."""

    path: Path
    model: str
    step: int
    total_steps: int | None
    losses: dict[str, float] = field(default_factory=dict)
    sample: Path | None = None
    error: str | None = None
    produces: list[str] = field(default_factory=list)  # Capability values
    precision: str | None = None  # what its training steps ran in


def summarize_run(run_dir: Path) -> RunSummary:
    """Model, step, last logged losses and newest sample of a run folder."""
    try:
        config = RunConfig.load(run_dir)
    except RunError as err:
        return RunSummary(run_dir, "?", 0, None, error=str(err))
    found = ckpt.list_checkpoints(run_dir)
    step = found[-1][0] if found else 0
    losses: dict[str, float] = {}
    metrics = run_dir / METRICS_FILE
    if metrics.is_file():
        with open(metrics, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows:
            last = rows[-1]
            step = max(step, int(last.get("step") or 0))
            skip = {"step", "epoch", "seconds", "img_per_s"}
            for key, value in last.items():
                if key not in skip and value:
                    try:
                        losses[key] = float(value)
                    except ValueError:
                        continue
    samples = sorted((run_dir / SAMPLES_DIR).glob("step-*.png"))
    try:
        cls = get_model_class(config.model)
        produces = sorted(c.value for c in cls.capabilities(config.model_settings(cls)))
    except HangulganError:
        produces = []
    return RunSummary(
        path=run_dir,
        model=config.model,
        produces=produces,
        precision=config.precision,
        step=step,
        total_steps=config.train.steps,
        losses=losses,
        sample=samples[-1] if samples else None,
    )


def list_runs(runs_dir: str | Path) -> list[RunSummary]:
    """Summaries of the runs in ``runs_dir`` (or of ``runs_dir`` itself when it is a run)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RunError(f"{runs_dir}: no such folder")
    if (runs_dir / CONFIG_FILE).is_file():
        return [summarize_run(runs_dir)]
    return [
        summarize_run(child)
        for child in sorted(runs_dir.iterdir())
        if child.is_dir() and (child / CONFIG_FILE).is_file()
    ]
