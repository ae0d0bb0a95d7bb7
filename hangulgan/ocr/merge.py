"""Join OCR exports into one dataset: ``hangulgan ocr-merge PART... --out OUT``.

The parts are ``ocr-export`` outputs made with the same options: the shards of one run
(``--shard i/n`` on several machines), runs with other seeds or sources, or earlier
merges. ``OUT`` has the layout of one export, every sample renumbered from 1 per split
without gaps: part after part (the shards of a run in shard order, whatever order the
parts are named in), sample *k* of a part becoming sample *offset + k*, so one sample
keeps one number across formats (LMDB key, gt and EasyOCR file name, class file name).

* LMDB: ``image-%09d``/``label-%09d`` from 1 and ``num-samples``, copied in batches
  through the ``lmdb`` package (memory stays flat however many samples there are);
* gt and EasyOCR: the images hard-linked (copied across file systems) under their new
  names, and a new ``gt.txt``/``labels.csv``;
* classes: the same class folders, the files under their new numbers;
* ``charset.txt``: the union of the parts'; ``manifest.json``: the parts, the random
  streams they hold (seed, shard, sources) and the summed counts.

Everything is written into a hidden folder beside ``OUT`` that becomes ``OUT`` (or
replaces it, with ``force``) only when whole, so an interrupted merge leaves ``OUT`` as it
was and never a part-written dataset.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangulgan.errors import ConfigError
from hangulgan.io import atomic_dir, read_format_json, write_bytes_atomic, write_json_atomic
from hangulgan.ocr.export import MANIFEST_FORMAT, MANIFEST_VERSION, require_ocr_export
from hangulgan.ocr.writers import (
    LMDB_MAP_SIZE,
    LmdbWriter,
    format_folder,
    open_writer,
    write_class_folders,
)

# An LMDB transaction of the merge holds at most this many samples or bytes: large
# enough that commits cost little, small enough that memory stays flat.
MERGE_BATCH = 2048
MERGE_BATCH_BYTES = 64 << 20
# The options every part must share, as manifest key → what an error calls it.
SHARED = {"kind": "--kind", "height": "--height", "image_format": "--image-format"}


@dataclass
class Part:
    """One ``ocr-export`` (or ``ocr-merge``) output folder read for merging."""

    path: Path
    manifest: dict[str, Any]
    counts: dict[str, int]  # samples per split ("all" when unsplit)
    streams: list[dict[str, Any]] = field(default_factory=list)  # random streams it holds

    @property
    def options(self) -> dict[str, Any]:
        """The options it was made with."""
        return self.manifest["options"]

    def folder(self, split: str, fmt: str) -> Path:
        """Where format ``fmt`` of ``split`` lies."""
        return format_folder(self.path, fmt, split)


def _describe(stream: dict[str, Any]) -> str:
    shard = stream.get("shard")
    run = f"shard {shard[0]}/{shard[1]}" if shard else "the unsharded run"
    return f"{run} of seed {stream.get('seed')}"


def read_part(path: str | Path) -> Part:
    """Read an export's manifest; ConfigError naming the folder when it is not a complete
    ``ocr-export`` (or ``ocr-merge``) output."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such folder (name ocr-export output folders)")
    if not (path / "manifest.json").is_file():
        raise ConfigError(f"{path}: not an ocr-export output (no manifest.json)")
    manifest = read_format_json(
        path / "manifest.json", MANIFEST_FORMAT, MANIFEST_VERSION, ConfigError, "OCR export"
    )
    if not manifest.get("complete"):
        raise ConfigError(
            f"{path}: an incomplete export (its run stopped part-way, see manifest.json); "
            "make it again"
        )
    if not (path / "charset.txt").is_file():
        raise ConfigError(f"{path}: has no charset.txt (not a whole ocr-export output)")
    try:
        counts = {str(k): int(v) for k, v in manifest["counts"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        counts = None
    options = manifest.get("options")
    # refused here rather than mid-merge
    if counts is None or not isinstance(options, dict) or not {"formats", "kind"} <= set(options):
        raise ConfigError(f"{path / 'manifest.json'}: lacks the counts or options of an export")
    streams = manifest.get("streams")
    if streams is None:  # a plain export: one run, one random stream
        streams = [
            {
                "seed": manifest.get("seed"),
                "shard": manifest.get("shard"),
                "sources": sorted(s["name"] for s in manifest.get("sources", [])),
            }
        ]
    return Part(path, manifest, counts, streams)


def _shown(value: Any) -> str:
    """An option as typed: a height range [24, 64] as 24-64, [32, 32] as 32."""
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]}-{value[1]}"
    return str(value)


def _check_alike(parts: Sequence[Part]) -> None:
    """ConfigError naming the part and the option when the parts cannot be joined."""
    first = parts[0]
    for part in parts[1:]:
        for key, flag in SHARED.items():
            if part.options.get(key) != first.options.get(key):
                raise ConfigError(
                    f"{part.path}: made with {flag} {_shown(part.options.get(key))}, "
                    f"{first.path} with {flag} {_shown(first.options.get(key))}; merge parts "
                    "made with the same options"
                )
        if sorted(part.options["formats"]) != sorted(first.options["formats"]):
            raise ConfigError(
                f"{part.path}: has formats {','.join(part.options['formats'])}, {first.path} "
                f"{','.join(first.options['formats'])}; merge parts made with the same --format"
            )
        if list(part.counts) != list(first.counts):
            raise ConfigError(
                f"{part.path}: has splits {', '.join(part.counts)}, {first.path} "
                f"{', '.join(first.counts)}; merge parts made with the same --split"
            )
        if len(first.counts) > 1 and part.options.get("by") != first.options.get("by"):
            raise ConfigError(
                f"{part.path}: split --by {part.options.get('by')}, {first.path} --by "
                f"{first.options.get('by')}; merge parts split the same way"
            )
        if len(first.counts) > 1 and first.options.get("by") == "face":
            # a face in train of one part and in test of another would leak into the test
            for split in first.counts:
                mine = sorted(part.manifest["splits"][split]["sources"])
                theirs = sorted(first.manifest["splits"][split]["sources"])
                if mine != theirs:
                    raise ConfigError(
                        f"{part.path}: split {split} holds faces {', '.join(mine)}, in "
                        f"{first.path} {', '.join(theirs)}; with --by face every part must "
                        "give a split the same faces (make the shards with one --seed)"
                    )


def _check_streams(parts: Sequence[Part]) -> list[dict[str, Any]]:
    """ConfigError when two parts hold the same random stream (the same samples) or
    shards of one run cut differently; the shards missing from each sharded run."""
    seen: dict[tuple, Path] = {}
    runs: dict[tuple, dict[Any, list[int]]] = {}
    for part in parts:
        for stream in part.streams:
            run = (stream.get("seed"), tuple(stream.get("sources") or ()))
            shard = tuple(stream["shard"]) if stream.get("shard") else None
            if (run, shard) in seen:
                raise ConfigError(
                    f"{part.path}: {_describe(stream)} from the same sources is also in "
                    f"{seen[run, shard]}; it would repeat its samples"
                )
            seen[run, shard] = part.path
            cuts = runs.setdefault(run, {})
            cuts.setdefault(shard[1] if shard else None, []).append(shard[0] if shard else 1)
            if len(cuts) > 1:
                how = ", ".join(f"{n} shards" if n else "unsharded" for n in cuts)
                raise ConfigError(
                    f"{part.path}: {_describe(stream)} overlaps another part of the same run "
                    f"cut another way ({how}); merge shards of one --shard I/N"
                )
    missing = []
    for (seed, _sources), cuts in runs.items():
        for of, have in cuts.items():
            if of is not None and len(have) < of:
                gone = sorted(set(range(1, of + 1)) - set(have))
                missing.append({"seed": seed, "of": of, "missing": gone})
    return missing


def _order(parts: list[Part]) -> list[Part]:
    """Shards of one run in shard order (``parts/*`` lists shard 10 before shard 2); other
    parts as named."""
    runs: dict[tuple, int] = {}

    def key(item: tuple[int, Part]) -> tuple:
        at, part = item
        stream = part.streams[0]
        run = (stream.get("seed"), tuple(stream.get("sources") or ()))
        first = runs.setdefault(run, at)
        shard = stream.get("shard")
        return (first, shard[0] if shard and len(part.streams) == 1 else 0, at)

    return [part for _, part in sorted(enumerate(parts), key=key)]


# --------------------------------------------------------------------------- copying


class _Placer:
    """Put a part's image at its new path: a hard link (no bytes copied) while the file
    system allows one, a copy after the first refusal (another file system, no links)."""

    def __init__(self) -> None:
        self.link = True

    def __call__(self, source: Path, target: Path) -> None:
        if self.link:
            try:
                os.link(source, target)
                return
            except FileNotFoundError:
                raise
            except OSError as err:
                if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self.link = False
        shutil.copyfile(source, target)


def _list_rows(part: Part, split: str, fmt: str) -> Iterator[tuple[str, str]]:
    """``(image path relative to the format folder, label)`` of gt.txt or labels.csv."""
    folder = part.folder(split, fmt)
    name, sep = ("gt.txt", "\t") if fmt == "gt" else ("labels.csv", ",")
    try:
        handle = open(folder / name, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{folder / name}: cannot read ({err.strerror or err})") from None
    with handle:
        for number, line in enumerate(handle):
            if fmt == "easyocr" and number == 0:
                continue  # the header
            line = line.rstrip("\n")
            if sep not in line:
                raise ConfigError(f"{folder / name}: line {number + 1} is not name{sep}label")
            image, label = line.split(sep, 1)
            yield image, label


def _merge_list(
    parts: Sequence[Part], split: str, fmt: str, out: Path, place: _Placer, progress
) -> int:
    writer = open_writer(fmt, out)  # the export's own layout of gt.txt or labels.csv
    number = 0
    try:
        for part in parts:
            folder = part.folder(split, fmt)
            had = 0
            for image, label in _list_rows(part, split, fmt):
                number += 1
                had += 1
                try:
                    writer.add_file(
                        f"{number:09d}{Path(image).suffix}",
                        label,
                        lambda target, source=folder / image: place(source, target),
                    )
                except FileNotFoundError:
                    raise ConfigError(
                        f"{folder / writer.list_path.name}: names {image}, which is missing"
                    ) from None
                if had % MERGE_BATCH == 0:
                    writer.commit()
                    progress(MERGE_BATCH)
            writer.commit()
            progress(had % MERGE_BATCH)
            _check_count(part, split, fmt, had)
    finally:
        writer.close()
    return number


def _merge_classes(
    parts: Sequence[Part], split: str, out: Path, place: _Placer, progress, offsets
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for part, offset in zip(parts, offsets, strict=True):
        folder = part.folder(split, "classes")
        had = 0
        for label in sorted(os.listdir(folder)) if folder.is_dir() else []:
            target = out / label
            target.mkdir(exist_ok=True)
            for file in sorted(os.listdir(folder / label)):
                stem, suffix = os.path.splitext(file)
                if not stem.isdigit():
                    raise ConfigError(
                        f"{folder / label / file}: not an ocr-export image name (NNNNNNNNN{suffix})"
                    )
                # the sample's number in the merged split, as in the other formats
                place(folder / label / file, target / f"{offset + int(stem):09d}{suffix}")
                had += 1
        progress(had)
        _check_count(part, split, "classes", had)
        total += had
    return total


def _merge_lmdb(parts: Sequence[Part], split: str, out: Path, progress) -> int:
    import lmdb

    writer = LmdbWriter(out)
    number = 0
    try:
        for part in parts:
            folder = part.folder(split, "lmdb")
            try:
                env = lmdb.open(
                    str(folder), readonly=True, lock=False, readahead=False, meminit=False,
                    map_size=LMDB_MAP_SIZE, max_readers=8,
                )  # fmt: skip
            except lmdb.Error as err:
                raise ConfigError(f"{folder}: not a readable LMDB ({err})") from None
            try:
                with env.begin() as txn:
                    raw = txn.get(b"num-samples")
                    held = int(raw) if raw is not None and raw.isdigit() else None
                    if held is None:
                        raise ConfigError(f"{folder}: has no num-samples (not an OCR LMDB)")
                    _check_count(part, split, "lmdb", held)
                    size = 0
                    for index in range(1, held + 1):
                        image = txn.get(b"image-%09d" % index)
                        label = txn.get(b"label-%09d" % index)
                        if image is None or label is None:
                            raise ConfigError(
                                f"{folder}: num-samples is {held} but sample {index} is missing"
                            )
                        number += 1
                        writer.add(number, "", label.decode("utf-8"), image)
                        size += len(image) + len(label)
                        if len(writer.cache) >= 2 * MERGE_BATCH or size >= MERGE_BATCH_BYTES:
                            progress(len(writer.cache) // 2)
                            writer.commit()
                            size = 0
                    progress(len(writer.cache) // 2)
                    writer.commit()
            finally:
                env.close()
    finally:
        writer.close()
    return number


def _check_count(part: Part, split: str, fmt: str, held: int) -> None:
    wanted = part.counts[split]
    if held != wanted:
        where = f"{split}/{fmt}" if split != "all" else fmt
        raise ConfigError(
            f"{part.path}: {where} holds {held} samples, its manifest.json {wanted}; "
            "the export was changed after it was made"
        )


# --------------------------------------------------------------------------- merge


@dataclass
class MergeSummary:
    """What a merge wrote."""

    written: dict[str, int]  # per split
    parts: list[Part]
    missing_shards: list[dict[str, Any]]  # per sharded run: the shards not merged
    manifest: dict[str, Any]


def merge_exports(
    parts: Sequence[str | Path],
    out: str | Path,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> MergeSummary:
    """Join the ``ocr-export`` outputs ``parts`` into ``out``, renumbering every format's
    samples per split from 1 without gaps (see the module's docstring)."""
    if not parts:
        raise ConfigError("ocr-merge: name the export folders to merge")
    out = Path(out)
    read = [read_part(p) for p in parts]
    seen: dict[Path, Path] = {}
    for part in read:
        where = part.path.resolve()
        if where in seen:
            raise ConfigError(f"{part.path}: named twice (as {seen[where]})")
        seen[where] = part.path
        target = out.resolve()
        if target == where or where in target.parents or target in where.parents:
            raise ConfigError(f"{out}: overlaps part {part.path}; write the merge elsewhere")
    _check_alike(read)
    missing = _check_streams(read)
    read = _order(read)
    check_merge_out(out, force)
    progress = progress or (lambda n: None)
    first = read[0]
    formats = list(first.options["formats"])
    splits = list(first.counts)
    written: dict[str, int] = {}
    place = _Placer()
    # an empty folder at OUT (made for the merge, say) is taken over without --force
    empty = out.is_dir() and not any(out.iterdir())
    with atomic_dir(out, replace=force or empty) as tmp:
        for split in splits:
            offsets = []
            at = 0
            for part in read:
                offsets.append(at)
                at += part.counts[split]
            for fmt in formats:
                target = format_folder(tmp, fmt, split)
                if fmt == "lmdb":
                    n = _merge_lmdb(read, split, target, progress)
                elif fmt == "classes":
                    n = _merge_classes(read, split, target, place, progress, offsets)
                else:
                    n = _merge_list(read, split, fmt, target, place, progress)
                written[split] = n
        charset = sorted(set().union(*(_charset(p) for p in read)))
        if "classes" in formats:  # one class index in every split, as in each part
            write_class_folders(tmp, splits, set())
        write_bytes_atomic(tmp / "charset.txt", "".join(f"{c}\n" for c in charset).encode())
        manifest = _manifest(read, written, missing, len(charset))
        # the manifest last: a folder without it is never taken for a whole merge
        write_json_atomic(tmp / "manifest.json", manifest)
    return MergeSummary(written, read, missing, manifest)


def check_merge_out(out: Path, force: bool) -> None:
    """ConfigError unless ``out`` may be written by a merge: missing, an empty folder, or
    (with ``force``) an earlier OCR dataset, which the merge then replaces whole."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    if not any(out.iterdir()):
        return
    if not force:
        raise ConfigError(f"{out}: already exists (replace it with --force)")
    require_ocr_export(out)  # --force replaces OUT whole: only ever an earlier OCR dataset


def _charset(part: Part) -> set[str]:
    text = (part.path / "charset.txt").read_text(encoding="utf-8")
    return {line for line in text.split("\n") if line}


def _manifest(
    parts: Sequence[Part], written: dict[str, int], missing: list, charset_size: int
) -> dict[str, Any]:
    first = parts[0]
    seeds = {p.manifest.get("seed") for p in parts}
    seed = seeds.pop() if len(seeds) == 1 else None
    sources: dict[str, Any] = {}
    refs: list[str] = []
    for part in parts:
        for source in part.manifest.get("sources", []):
            sources.setdefault(source["name"], source)
        refs += [r for r in part.manifest.get("source_refs", []) if r not in refs]
    splits = {}
    for split in written:
        per_source: Counter = Counter()
        names: list[str] = []
        for part in parts:
            info = part.manifest.get("splits", {}).get(split, {})
            per_source.update(info.get("per_source", {}))
            names += [n for n in info.get("sources", []) if n not in names]
        splits[split] = {
            "samples": written[split],
            "sources": names,
            "per_source": dict(per_source),
            "parts": [p.counts[split] for p in parts],
        }
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "complete": True,
        "merged": True,
        "parts": [
            {
                "path": str(p.path),
                "seed": p.manifest.get("seed"),
                "shard": p.manifest.get("shard"),
                "counts": p.counts,
                "skipped_text": p.manifest.get("skipped_text"),
            }
            for p in parts
        ],
        "streams": [s for p in parts for s in p.streams],
        "missing_shards": missing,
        "sources": list(sources.values()),
        "source_refs": refs,
        "seed": seed,
        "shard": None,
        "options": {**first.options, "count": sum(written.values()), "seed": seed, "shard": None},
        "text_sampler": first.manifest.get("text_sampler"),
        "splits": splits,
        "counts": written,
        "charset_size": charset_size,
    }
