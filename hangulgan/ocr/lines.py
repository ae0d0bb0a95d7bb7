"""Reading the labelled images of an ``ocr-export`` (or ``ocr-merge``) folder back: one
split, from its LMDB, its ``gt.txt`` or its ``labels.csv``, each image resized to a
fixed height for a recognizer.

Images come back as ink (0 paper, 255 ink), the glyph sets' convention: an export draws
dark ink on light paper, so it is inverted here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hangulgan.errors import ConfigError
from hangulgan.ocr.merge import read_part
from hangulgan.ocr.writers import format_folder

# the formats that hold whole words and lines, in the order they are read when several
# were written (the LMDB is one file: the fastest to read at random)
LINE_FORMATS = ("lmdb", "gt", "easyocr")
UNSPLIT = "all"  # what an export's manifest calls its one split when nothing is split


@dataclass
class ExportSplit:
    """The labels of one split of an export and access to its images."""

    folder: Path  # the export
    split: str  # a split name, or "all" for an unsplit export
    fmt: str  # the format read: lmdb, gt or easyocr
    path: Path  # that format's folder for the split
    labels: list[str]
    charset: str  # the export's charset.txt, in order (no space)
    sources: list[str] = field(default_factory=list)  # names of the export's sources
    _files: list[Path] = field(default_factory=list, repr=False)  # gt, easyocr

    def __len__(self) -> int:
        return len(self.labels)

    def encoded(self, indices: Sequence[int]) -> list[bytes]:
        """The stored image files (PNG or JPEG bytes) of samples ``indices`` (from 0)."""
        if self.fmt != "lmdb":
            out = []
            for i in indices:
                try:
                    out.append(self._files[i].read_bytes())
                except OSError as err:
                    raise ConfigError(f"{self._files[i]}: cannot read ({err.strerror})") from None
            return out
        # opened for each call, not held: LMDB refuses a second open of one database in a
        # process, and two datasets (or a dataset and ocr-eval) may read the same export
        env = _open_lmdb(self.path)
        try:
            with env.begin(write=False) as txn:
                found = [txn.get(b"image-%09d" % (i + 1)) for i in indices]
        finally:
            env.close()
        for i, data in zip(indices, found, strict=True):
            if data is None:
                raise ConfigError(f"{self.path}: the LMDB lacks image-{i + 1:09d}")
        return [bytes(data) for data in found]

    def images(self, indices: Sequence[int], height: int | None = None) -> list[np.ndarray]:
        """Samples ``indices`` as H×W uint8 ink, resized to ``height`` (aspect kept) if given."""
        from PIL import Image, UnidentifiedImageError

        out = []
        for index, data in zip(indices, self.encoded(indices), strict=True):
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    picture = opened.convert("L")
            except (UnidentifiedImageError, OSError) as err:
                raise ConfigError(f"{self.path}: sample {index + 1} is no image ({err})") from None
            if height is not None and picture.height != height:
                width = max(1, round(picture.width * height / picture.height))
                picture = picture.resize((width, height), Image.BILINEAR)
            out.append(255 - np.asarray(picture, dtype=np.uint8))
        return out


def _open_lmdb(path: Path):
    import lmdb

    try:
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as err:
        raise ConfigError(f"{path}: cannot open the LMDB ({err})") from None


def open_split(folder: str | Path, split: str | None = None, default: str = "train") -> ExportSplit:
    """One split of an export: ``split``, or by default ``default`` (or the whole of an
    unsplit export). ConfigError, naming the folder, for a folder that is no complete
    export, a split it lacks, or an export written only as class folders."""
    part = read_part(folder)
    folder = part.path
    held = list(part.counts)
    if split in (None, ""):
        split = UNSPLIT if held == [UNSPLIT] else default
    if split not in held:
        shown = (
            "none (the export is not split: leave --split out)"
            if held == [UNSPLIT]
            else (", ".join(held))
        )
        raise ConfigError(f"{folder}: has no split {split!r} (its splits: {shown})")
    formats = [f for f in LINE_FORMATS if f in part.options.get("formats", [])]
    if not formats:
        raise ConfigError(
            f"{folder}: holds no lmdb, gt or easyocr format (only "
            f"{', '.join(part.options.get('formats', [])) or 'nothing'}); export the text with "
            "--format lmdb"
        )
    fmt = formats[0]
    path = format_folder(folder, fmt, "" if split == UNSPLIT else split)
    charset = (folder / "charset.txt").read_text(encoding="utf-8").splitlines()
    sources = [str(s.get("name", "")) for s in part.manifest.get("sources", [])]
    found = ExportSplit(folder, split, fmt, path, [], "".join(c for c in charset if c), sources)
    if fmt == "lmdb":
        found.labels = _lmdb_labels(found)
    else:
        found.labels, found._files = _list_labels(path, fmt)
    if not found.labels:
        raise ConfigError(f"{path}: holds no sample")
    return found


def _lmdb_labels(found: ExportSplit) -> list[str]:
    if not (found.path / "data.mdb").is_file():
        raise ConfigError(f"{found.path}: no LMDB there (data.mdb is missing)")
    env = _open_lmdb(found.path)
    try:
        return _read_lmdb_labels(env, found.path)
    finally:
        env.close()


def _read_lmdb_labels(env, path: Path) -> list[str]:
    with env.begin(write=False) as txn:
        raw = txn.get(b"num-samples")
        try:
            count = int(raw) if raw is not None else -1
        except ValueError:
            count = -1
        if count < 0:
            raise ConfigError(f"{path}: the LMDB has no readable num-samples")
        labels = []
        for number in range(1, count + 1):
            label = txn.get(b"label-%09d" % number)
            if label is None:
                raise ConfigError(f"{path}: the LMDB lacks label-{number:09d}")
            labels.append(bytes(label).decode("utf-8"))
    return labels


def _list_labels(path: Path, fmt: str) -> tuple[list[str], list[Path]]:
    """Labels and image files of a gt.txt (``path<TAB>label``) or labels.csv
    (``filename,words`` under a header)."""
    name, sep = ("gt.txt", "\t") if fmt == "gt" else ("labels.csv", ",")
    listing = path / name
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{listing}: missing (the export's {fmt} format is incomplete)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{listing}: cannot read ({err})") from None
    if fmt == "easyocr" and lines and lines[0] == "filename,words":
        lines = lines[1:]
    labels, files = [], []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        image, found, label = line.partition(sep)
        if not found:
            raise ConfigError(f"{listing}: line {number} has no {sep!r} between file and label")
        labels.append(label)
        files.append(path / image)
    return labels, files
