"""Write OCR samples in the formats text recognizers train on.

Layout of ``OUT``: one folder per format, and with ``--split`` one folder per split
inside it (``OUT/lmdb/train``, ``OUT/gt/val`` …), so a format's folder holds that format
only. deep-text-recognition-benchmark's ``hierarchical_dataset(root)`` opens every leaf
folder under ``root`` as an LMDB: ``OUT/lmdb`` (or ``OUT/lmdb/train``) finds only LMDBs::

    gt/         images/000000001.png … and gt.txt: ``images/000000001.png<TAB>label``
                lines (deep-text-recognition-benchmark's create_lmdb_dataset.py input,
                PaddleOCR's SimpleDataSet)
    lmdb/       an LMDB: ``image-%09d`` (the encoded image) and ``label-%09d`` (UTF-8),
                counting from 1, and ``num-samples``, as create_lmdb_dataset.py writes
    easyocr/    the images and ``labels.csv`` (``filename,words``), as EasyOCR's trainer
                reads it
    classes/    one folder per character holding its images (``--kind syllables`` only);
                every split has every class's folder (empty where the split drew none),
                so torchvision's ImageFolder gives a character one index in every split;
                ``classes.txt`` beside the formats lists the folders in that order
    charset.txt every character of the labels, one a line (space excluded: the
                trainers add it with their own flag)
    manifest.json  sources, counts per split and source, skipped text, seed, options;
                written first (``complete: false``) and again when the run ends, so it
                marks OUT as an export from the start: ``force`` replaces the outputs of
                a folder that holds one, and never touches a folder that does not

Samples are made and written in batches, so memory stays flat however many there are.
After every batch each format holds whole samples only: gt.txt and labels.csv name
images already written, and the LMDB's ``num-samples`` is committed with the batch. A full
disk stops the run with one line saying how many samples are readable.

With ``ExportOptions.shard = (i, n)`` the run makes part i of n: its slice of every split
(:func:`shard_slices`) from its own random stream (:meth:`ExportOptions.random_seed`),
the splits planned from ``--seed`` as in every other shard. :mod:`hangulgan.ocr.merge`
joins the parts.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hangulgan import hangul
from hangulgan.errors import ConfigError, DiskFullError, HangulganError
from hangulgan.io import (
    disk_full_as_error,
    is_disk_full,
    read_format_json,
    write_bytes_atomic,
    write_json_atomic,
)
from hangulgan.ocr.fonts import FontSource
from hangulgan.ocr.setting import Distortion, render_text
from hangulgan.ocr.text import SAMPLERS, RealText, Sampler, TextShape
from hangulgan.ocr.writers import (
    FORMATS,
    FormatWriter,
    encode_image,
    format_folder,
    open_writer,
    write_class_folders,
)

# a source (and its text) as the rest of the module names it
Source = FontSource

KINDS = ("syllables", "words", "lines")
SPLIT_NAMES = ("train", "val", "test")
BY = ("sample", "face", "style")
MANIFEST_FORMAT = "hangulgan.ocr-export"
# 2: format-first folders (OUT/FORMAT/SPLIT); 1 had OUT/SPLIT/FORMAT
MANIFEST_VERSION = 2
# Tries at drawing a built-in text that a source draws whole before a plainer kind
TEXT_TRIES = 30


@dataclass
class ExportOptions:
    """What ``ocr-export`` makes; see the command's help."""

    kind: str = "words"
    count: int | None = None  # None: one sample per text line (with --text)
    formats: tuple[str, ...] = ("gt",)
    split: tuple[float, ...] = (1.0,)
    by: str = "sample"
    seed: int = 0
    height: tuple[int, int] = (32, 32)  # each sample's height drawn from this range
    augment: bool = False
    sampler: str = "real"  # built-in text: real Korean, or syllables by frequency
    max_width: int | None = None  # wider samples are skipped and counted
    text_file: str | None = None  # named in errors about the text
    image_format: str = "png"
    batch: int = 512
    shard: tuple[int, int] | None = None  # (i, n): this run makes part i of n (from 1)

    def validate(self) -> None:
        """ConfigError naming the option that is out of range."""
        if self.kind not in KINDS:
            raise ConfigError(f"--kind {self.kind}: choose one of {', '.join(KINDS)}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ConfigError(f"--format {','.join(bad)}: choose from {', '.join(FORMATS)}")
        if "classes" in self.formats and self.kind != "syllables":
            raise ConfigError("--format classes: one folder per character needs --kind syllables")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"--count {self.count}: must be at least 1")
        if not 1 <= len(self.split) <= len(SPLIT_NAMES) or any(f < 0 for f in self.split):
            raise ConfigError(f"--split {self.split}: one to three non-negative fractions")
        if abs(sum(self.split) - 1.0) > 1e-6:
            raise ConfigError(f"--split {','.join(map(str, self.split))}: fractions must sum to 1")
        if self.by not in BY:
            raise ConfigError(f"--by {self.by}: choose sample, face or style")
        low, high = self.height
        if not 8 <= low <= high <= 256:
            raise ConfigError(f"--height {low}-{high}: must be 8 to 256 pixels, low to high")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"--sampler {self.sampler}: choose {' or '.join(SAMPLERS)}")
        if self.max_width is not None and self.max_width < 2 * high:
            raise ConfigError(f"--max-width {self.max_width}: at least twice the height")
        if self.image_format not in ("png", "jpg"):
            raise ConfigError(f"--image-format {self.image_format}: png or jpg")
        if self.batch < 1:
            raise ConfigError("batch must be at least 1")
        if self.shard is not None:
            index, of = self.shard
            if not 1 <= index <= of:
                raise ConfigError(f"--shard {index}/{of}: I/N with 1 <= I <= N, e.g. 2/8")

    def random_seed(self) -> np.random.SeedSequence:
        """The seed of the sampling and distortions. Each shard's is spawned from
        ``(seed, i, n)``, so shards never repeat each other's (or an unsharded run's)
        random stream; an unsharded run's is the plain ``seed``."""
        if self.shard is None:
            return np.random.SeedSequence(self.seed)
        index, of = self.shard
        return np.random.SeedSequence(self.seed, spawn_key=(of, index))

    @property
    def split_names(self) -> list[str]:
        """Subfolder per split; one unnamed split when nothing is split."""
        return [""] if len(self.split) == 1 else list(SPLIT_NAMES[: len(self.split)])


# --------------------------------------------------------------------------- planning


@dataclass
class SplitPlan:
    """The sources and sample count of one split."""

    name: str
    sources: list[Source]
    count: int
    items: list[str] = field(default_factory=list)  # text samples settable here (--text)
    unset: int = 0  # text samples no source of this split holds
    samplers: dict[str, Sampler] = field(default_factory=dict)  # --sampler syllables
    offset: int = 0  # where in ``items`` this split's samples start
    first: int = 0  # the index of this run's first sample among the split's (--shard)
    round_chars: list[str] = field(default_factory=list)  # --kind syllables: every class
    round: list[str] = field(default_factory=list)  # the current shuffled round of them


def _shares(total: int, fractions: Sequence[float]) -> list[int]:
    """``total`` split by ``fractions`` (largest remainders), summing to ``total``."""
    exact = [total * f for f in fractions]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def shard_slices(
    total: int, fractions: Sequence[float], shard: tuple[int, int] | None
) -> list[tuple[int, int]]:
    """``(first, count)`` per split of shard ``(i, n)``: the split's samples of a run of
    ``total`` (whole, as unsharded), cut into n runs of consecutive indices, so the n
    shards together make exactly the unsharded counts. Where a split does not divide
    evenly, its spare samples go to the shards after the last split's, so shard totals
    differ by at most one."""
    counts = _shares(total, fractions)
    if shard is None:
        return [(0, count) for count in counts]
    index, of = shard
    out = []
    rotate = 0
    for count in counts:
        base, spare = divmod(count, of)
        sizes = [base + ((j - rotate) % of < spare) for j in range(of)]
        out.append((sum(sizes[: index - 1]), sizes[index - 1]))
        rotate = (rotate + spare) % of
    return out


def plan_splits(
    sources: list[Source], texts: list[str] | None, options: ExportOptions, rng
) -> tuple[list[SplitPlan], list[str]]:
    """Splits with their sources and counts, and the text samples that no source holds
    (skipped). ``--by face`` gives each split its own sources; ``--by style`` its own
    designs (:attr:`Source.group`: a font family's weights, or one drawn style). ``rng``
    must be seeded with the run's ``--seed`` (never a shard's), so every shard plans the
    same splits and takes its own slice of them."""
    names = options.split_names
    fractions = options.split
    if options.by in ("face", "style") and len(names) > 1:
        # the unit given to one split: a source (face), or every source of one design
        units: dict[str, list[Source]] = {}
        for source in sources:
            units.setdefault(source.name if options.by == "face" else source.group, []).append(
                source
            )
        groups = list(units.values())
        wanted = sum(1 for f in fractions if f > 0)
        if len(groups) < wanted:
            noun = "sources" if options.by == "face" else "designs (font families or styles)"
            raise ConfigError(
                f"--by {options.by}: {wanted} splits need at least {wanted} {noun}, "
                f"got {len(groups)}"
            )
        order = [groups[i] for i in rng.permutation(len(groups))]
        per_split = _shares(len(groups), fractions)
        # every split with a share gets a unit, taken from the largest
        for i, f in enumerate(fractions):
            if f > 0 and per_split[i] == 0:
                per_split[int(np.argmax(per_split))] -= 1
                per_split[i] = 1
        bounds = np.cumsum([0, *per_split]).tolist()
        split_sources = [
            [s for group in order[a:b] for s in group]
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]
    else:
        split_sources = [list(sources)] * len(names)
    skipped: list[str] = []
    if texts is not None:
        skipped = [t for t in texts if not any(s.holds(t) for s in sources)]
    unheld = set(skipped)
    settable = [t for t in texts if t not in unheld] if texts is not None else None
    if settable is not None and not settable:
        where = options.text_file or "the text"
        raise ConfigError(
            f"{where}: no source draws every character of any of its lines, even with "
            f"--fallback-font (e.g. {skipped[0]!r})"
        )
    total = options.count if options.count is not None else len(settable or [])
    if total is None or total < 1:
        raise ConfigError("--count: give how many samples to make (or --text FILE)")
    by_sample = options.by == "sample" and len(names) > 1
    if settable is not None and by_sample:
        # splits by sample take consecutive runs of one shuffled order, so no text line
        # is in two splits (unless --count asks for more samples than there are lines)
        settable = [settable[i] for i in rng.permutation(len(settable))]
    plans = []
    offset = 0
    slices = shard_slices(total, fractions, options.shard)
    for name, (first, count), split_total, chosen in zip(
        names, slices, _shares(total, fractions), split_sources, strict=True
    ):
        # a shard's text samples are its slice of the split's: disjoint from other shards'
        plan = SplitPlan(name, chosen, count, offset=first + (offset if by_sample else 0))
        plan.first = first
        offset += split_total
        if settable is not None:
            plan.items = [t for t in settable if any(s.holds(t) for s in chosen)]
            plan.unset = len(settable) - len(plan.items)
            if count and not plan.items:
                raise ConfigError(f"split {name}: its sources hold no text sample's characters")
        plans.append(plan)
    return plans, skipped


def _texts_for(
    plan: SplitPlan, start: int, n: int, options: ExportOptions, rng, real: RealText | None
) -> list[tuple[Source, str]]:
    """``n`` (source, text) pairs of a split, the text always drawn whole by its source."""
    out: list[tuple[Source, str]] = []
    if plan.items:
        for i in range(plan.offset + start, plan.offset + start + n):
            text = plan.items[i % len(plan.items)]
            holders = [s for s in plan.sources if s.holds(text)]
            out.append((holders[int(rng.integers(len(holders)))], text))
        return out
    if options.kind == "syllables":
        return _balanced_syllables(plan, start, n, rng)
    for _ in range(n):
        source = plan.sources[int(rng.integers(len(plan.sources)))]
        out.append((source, _builtin_text(plan, source, options, rng, real)))
    return out


def _builtin_text(plan: SplitPlan, source: Source, options: ExportOptions, rng, real) -> str:
    """A built-in word or line that ``source`` draws whole: real text (a few tries, then
    plain Korean words, which every Korean design draws) or frequency-drawn syllables."""
    if real is not None:
        make = real.word if options.kind == "words" else real.line
        for _ in range(TEXT_TRIES):
            text = make(rng)
            if source.holds(text):
                return text
        for _ in range(TEXT_TRIES):
            text = real.korean_word(rng)
            if source.holds(text):
                return text
    sampler = plan.samplers.get(source.name)
    if sampler is None:
        syllables = source.drawn_hangul(np.asarray(hangul.all_syllables()))
        sampler = plan.samplers[source.name] = Sampler(syllables, source.name, TextShape())
    return sampler.word(rng) if options.kind == "words" else sampler.line(rng)


def _balanced_syllables(plan: SplitPlan, start: int, n: int, rng) -> list[tuple[Source, str]]:
    """Single characters for a character classifier: every character the split's sources
    hold, in shuffled rounds (each round draws each character once, from a source that
    holds it), so that each class has a sample in the split as soon as ``count`` allows."""
    if not plan.round_chars:
        everything = np.asarray(hangul.all_syllables())
        held = sorted({int(cp) for s in plan.sources for cp in s.drawn_hangul(everything)})
        plan.round_chars = [chr(cp) for cp in held]
    out: list[tuple[Source, str]] = []
    chars = plan.round_chars
    for at in range(start, start + n):
        if at % len(chars) == 0 or not plan.round:
            plan.round = [chars[i] for i in rng.permutation(len(chars))]
        text = plan.round[at % len(chars)]
        holders = [s for s in plan.sources if s.holds(text)]
        out.append((holders[int(rng.integers(len(holders)))], text))
    return out


# --------------------------------------------------------------------------- rendering


def render_batch(
    pairs: list[tuple[Source, str]], options: ExportOptions, rng
) -> list[np.ndarray | None]:
    """Grey images of ``(source, text)`` pairs, each of a height drawn from
    ``options.height``; None for one wider than ``options.max_width`` (never squeezed)."""
    distortion = Distortion() if options.augment else None
    low, high = options.height
    images: list[np.ndarray | None] = []
    for source, text in pairs:
        height = low if low == high else int(rng.integers(low, high + 1))
        image = render_text(source, text, height, distortion, rng)
        too_wide = options.max_width is not None and image.shape[1] > options.max_width
        images.append(None if too_wide else image)
    return images


@dataclass
class ExportSummary:
    """What a run wrote."""

    written: dict[str, int]  # per split
    skipped: list[str]  # text samples no source holds
    manifest: dict[str, Any]
    too_wide: int = 0  # samples wider than --max-width, left out


def _output_paths(out: Path, options: ExportOptions) -> list[Path]:
    # the sample folders first: the error names the LMDB (or gt folder) about to be lost
    paths = [
        format_folder(out, fmt, split) for fmt in options.formats for split in options.split_names
    ]
    # what an export of version 1 (OUT/SPLIT/FORMAT) wrote there: --force replaces it too
    old = [out / split / fmt for split in SPLIT_NAMES for fmt in FORMATS]
    return [*paths, *old, out / "manifest.json", out / "charset.txt", out / "classes.txt"]


def export(
    sources: list[Source],
    out: str | Path,
    options: ExportOptions,
    texts: list[str] | None = None,
    force: bool = False,
    source_refs: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
    source_records: Sequence[dict[str, Any]] = (),
) -> ExportSummary:
    """Make the samples and write them in every format of ``options``. ``source_records``
    describe the sources in the manifest (default: their names and designs)."""
    options.validate()
    if not sources:
        raise ConfigError("no source: name a corpus, a corpus face or a glyph set")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    rng = np.random.default_rng(options.seed)
    plans, skipped = plan_splits(sources, texts, options, rng)  # the input first
    existing = [p for p in _output_paths(out, options) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]}: already exists (overwrite it with --force)")
    if existing:
        require_ocr_export(out)
    if options.shard is not None:
        # the plan above is every shard's; the samples are drawn from this shard's stream
        rng = np.random.default_rng(options.random_seed())
    real = RealText() if texts is None and options.sampler == "real" else None
    too_wide: dict[str, int] = {}
    charset: set[str] = set()
    per_source: dict[str, Counter] = {}
    written: dict[str, int] = {}
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "complete": False,
        "sources": list(source_records) or [{"name": s.name, "design": s.group} for s in sources],
        "fallback": [face.label for face in sources[0].fallback],
        "source_refs": list(source_refs),
        "seed": options.seed,
        "shard": list(options.shard) if options.shard is not None else None,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()},
        "text_sampler": _describe_text(texts, options),
        "skipped_text": {"count": len(skipped), "examples": skipped[:10]},
        "splits": {},
    }
    with disk_full_as_error(out):
        out.mkdir(parents=True, exist_ok=True)
    # the marker before anything else: a run stopped at any point leaves a folder that the
    # next --force knows for an export (and ocr-merge for an incomplete one)
    write_json_atomic(out / "manifest.json", manifest)
    for path in existing:
        if path.name != "manifest.json" or path.parent != out:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    try:
        for plan in plans:
            writers = {
                fmt: open_writer(fmt, format_folder(out, fmt, plan.name)) for fmt in options.formats
            }
            counts = per_source.setdefault(plan.name or "all", Counter())
            try:
                too_wide[plan.name or "all"] = _write_split(
                    plan, writers, options, rng, real, charset, counts, progress
                )
            finally:
                written[plan.name or "all"] = min(w.written for w in writers.values())
                for writer in writers.values():
                    writer.close()
            manifest["splits"][plan.name or "all"] = {
                "samples": written[plan.name or "all"],
                "sources": [s.name for s in plan.sources],
                "per_source": dict(counts),
                "text_unset_in_split": plan.unset,
                "first": plan.first,  # where this shard's samples start in the split
                "too_wide": too_wide.get(plan.name or "all", 0),
            }
    except HangulganError:
        raise
    except Exception as err:
        if is_disk_full(err):
            done = sum(written.values())
            per_split = ", ".join(f"{k}: {v}" for k, v in written.items())
            _try_manifest(out, manifest, charset, written)
            where = getattr(err, "filename", None) or out
            raise DiskFullError(
                f"{where}: no space left on device; {done} samples were written whole in "
                f"every format and stay readable ({per_split})"
            ) from err
        raise
    if "classes" in options.formats:
        write_class_folders(out, options.split_names, charset)
    manifest["complete"] = True
    manifest["counts"] = written
    write_bytes_atomic(out / "charset.txt", "".join(f"{c}\n" for c in sorted(charset)).encode())
    manifest["charset_size"] = len(charset)
    write_json_atomic(out / "manifest.json", manifest)
    return ExportSummary(written, skipped, manifest, sum(too_wide.values()))


def require_ocr_export(out: Path) -> None:
    """ConfigError unless ``out`` holds the manifest.json of an ``ocr-export`` or
    ``ocr-merge`` output: the only folder whose outputs ``--force`` may replace."""
    if not (out / "manifest.json").is_file():
        raise ConfigError(
            f"{out}: holds files but no manifest.json of an OCR export; --force replaces only "
            "an earlier ocr-export or ocr-merge output"
        )
    path = out / "manifest.json"
    try:
        read_format_json(path, MANIFEST_FORMAT, MANIFEST_VERSION, ConfigError, "OCR export")
    except ConfigError as err:
        try:  # an export of the older layout is replaced as well
            read_format_json(path, MANIFEST_FORMAT, 1, ConfigError, "OCR export")
        except ConfigError:
            raise err from None


def _describe_text(texts: list[str] | None, options: ExportOptions) -> str:
    if texts is not None:
        return f"text file {options.text_file}" if options.text_file else "text file"
    if options.kind == "syllables":
        return "built-in: every syllable the sources draw, in shuffled rounds"
    if options.sampler == "syllables":
        return (
            "built-in, syllables weighted by Korean frequency (hangulgan/ocr/data/"
            "syllable-frequency.tsv, from wordfreq 3.1.1, CC BY-SA 4.0)"
        )
    return (
        "built-in real Korean: tokens of hangulgan/ocr/data/korean-words.tsv (wordfreq "
        "3.1.1, CC BY-SA 4.0), the Korean Constitution (hangulgan/ocr/data/"
        "constitution-ko.txt, not protected by copyright), prices, dates, URLs and symbols"
    )


def _try_manifest(out: Path, manifest: dict, charset: set[str], written: dict) -> None:
    """Record what a failed run left readable, if the disk still takes a small file."""
    manifest["counts"] = written
    try:
        write_bytes_atomic(out / "charset.txt", "".join(f"{c}\n" for c in sorted(charset)).encode())
        write_json_atomic(out / "manifest.json", manifest)
    except HangulganError:
        pass


def _write_split(
    plan: SplitPlan,
    writers: dict[str, FormatWriter],
    options: ExportOptions,
    rng,
    real: RealText | None,
    charset: set[str],
    counts: Counter,
    progress: Callable[[int], None] | None,
) -> int:
    """Make and write a split's samples; how many were too wide to keep."""
    number = 0
    too_wide = 0
    ext = options.image_format
    quality_range = Distortion().jpeg_quality
    for start in range(0, plan.count, options.batch):
        n = min(options.batch, plan.count - start)
        pairs = _texts_for(plan, start, n, options, rng, real)
        images = render_batch(pairs, options, rng)
        for (source, text), image in zip(pairs, images, strict=True):
            if image is None:
                too_wide += 1
                continue
            number += 1
            quality = 95
            if ext == "jpg" and options.augment:
                quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
            data = encode_image(image, ext, quality)
            name = f"{number:09d}.{ext}"
            for writer in writers.values():
                writer.add(number, name, text, data)
            counts[source.name] += 1
            charset.update(ch for ch in text if ch != " ")
        for writer in writers.values():
            writer.commit()
        if progress is not None:
            progress(n)
    return too_wide
