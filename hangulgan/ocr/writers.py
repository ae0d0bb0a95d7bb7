"""The output formats of an OCR export, and where each lies.

``OUT/FORMAT`` holds one format (``OUT/FORMAT/SPLIT`` with splits): gt (images and
gt.txt), lmdb, easyocr (images and labels.csv), classes (a folder per character). Each
writer takes samples one by one and makes them readable a batch at a time
(:meth:`FormatWriter.commit`), so after every batch each format holds whole samples only.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hangulgan.errors import HangulganError
from hangulgan.io import is_disk_full, write_bytes_atomic

# create_lmdb_dataset.py's map size: 1 TiB of address space; the file grows as written.
LMDB_MAP_SIZE = 1 << 40
FORMATS = ("gt", "lmdb", "easyocr", "classes")


def format_folder(out: Path, fmt: str, split: str = "") -> Path:
    """Where format ``fmt`` of ``split`` lies in an export: ``OUT/FORMAT/SPLIT``, or
    ``OUT/FORMAT`` when nothing is split (``split`` empty or ``all``)."""
    return out / fmt / split if split and split != "all" else out / fmt


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


class FormatWriter(ABC):
    """One output format of one split: :meth:`add` samples, :meth:`commit` each batch."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written = 0  # samples committed: readable whatever happens next

    @abstractmethod
    def add(self, number: int, name: str, label: str, data: bytes) -> None:
        """Write (or stage) sample ``number`` (from 1) as file ``name``."""

    @abstractmethod
    def commit(self) -> None:
        """Make every sample added so far readable."""

    @abstractmethod
    def close(self) -> None:
        """Release files; what was not committed is not part of the output."""


class _ListWriter(FormatWriter):
    """Image files and a list file of ``name SEP label`` lines (gt.txt, labels.csv)."""

    def __init__(self, folder: Path, images: str, list_name: str, sep: str, header: str) -> None:
        super().__init__(folder)
        self.images = folder / images
        self.images.mkdir(parents=True, exist_ok=True)
        self.prefix = f"{images}/" if images else ""
        self.list_path = folder / list_name
        self.sep = sep
        self.pending: list[str] = []
        self.handle = open(self.list_path, "w", encoding="utf-8")
        self.handle.write(header)
        self.handle.flush()

    def add(self, number: int, name: str, label: str, data: bytes) -> None:
        self.add_file(name, label, lambda path: _write_file(path, data))

    def add_file(self, name: str, label: str, put: Callable[[Path], None]) -> None:
        """Stage a sample whose image ``put`` writes to its path (``ocr-merge`` links it)."""
        put(self.images / name)
        self.pending.append(f"{self.prefix}{name}{self.sep}{label}\n")

    def commit(self) -> None:
        # lines follow their images, so a list never names an image that is not there
        self.handle.write("".join(self.pending))
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.written += len(self.pending)
        self.pending = []

    def close(self) -> None:
        self.handle.close()


def class_folder(label: str) -> str:
    """The folder name of a class: the character itself, or ``U+XXXX`` for one that
    cannot name a folder (``/``, ``.``, a backslash)."""
    if label in (".", "..") or "/" in label or "\\" in label:
        return "_".join(f"U+{ord(ch):04X}" for ch in label)
    return label


class _ClassesWriter(FormatWriter):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.pending = 0

    def add(self, number: int, name: str, label: str, data: bytes) -> None:
        target = self.folder / class_folder(label)
        target.mkdir(exist_ok=True)
        _write_file(target / name, data)
        self.pending += 1

    def commit(self) -> None:
        self.written += self.pending
        self.pending = 0

    def close(self) -> None:
        """Nothing is held open: every image is its own file."""


class LmdbWriter(FormatWriter):
    """The LMDB format: ``image-%09d`` / ``label-%09d`` records and ``num-samples``."""

    def __init__(self, folder: Path) -> None:
        import lmdb

        super().__init__(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(str(folder), map_size=LMDB_MAP_SIZE)
        self.cache: dict[bytes, bytes] = {}

    def add(self, number: int, name: str, label: str, data: bytes) -> None:
        self.cache[b"image-%09d" % number] = data
        self.cache[b"label-%09d" % number] = label.encode("utf-8")

    def commit(self) -> None:
        import lmdb

        count = self.written + len(self.cache) // 2
        try:
            with self.env.begin(write=True) as txn:
                for key, value in self.cache.items():
                    txn.put(key, value)
                txn.put(b"num-samples", str(count).encode())
            self.env.sync(True)
        except lmdb.Error as err:
            # LMDB reports a write that found no room as EIO ("Input/output error"), so
            # ask the file system; the last committed batch stays the readable database
            needed = sum(len(v) for v in self.cache.values()) + (1 << 20)
            if not is_disk_full(err) and _free_bytes(self.folder) >= needed:
                raise HangulganError(f"{self.folder}: LMDB write failed ({err})") from err
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.folder)) from err
        self.written = count
        self.cache = {}

    def close(self) -> None:
        self.env.close()


def _free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def open_writer(fmt: str, folder: Path) -> FormatWriter:
    """The writer of format ``fmt`` (one of :data:`FORMATS`) into ``folder``."""
    if fmt == "gt":
        return _ListWriter(folder, "images", "gt.txt", "\t", "")
    if fmt == "easyocr":
        # EasyOCR's trainer reads it with pandas, splitting each line at its first comma
        return _ListWriter(folder, "", "labels.csv", ",", "filename,words\n")
    if fmt == "classes":
        return _ClassesWriter(folder)
    return LmdbWriter(folder)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image: np.ndarray) -> bytes:
    """A grey 8-bit PNG of ``image``, rows unfiltered, deflated at level 1.

    Pillow's encoder tries every row filter and spends most of a small word image's time
    there; for 32 px text the plain rows compress about as well."""
    height, width = image.shape
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = image
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _png_chunk(b"IEND", b""),
        )
    )


def encode_image(image: np.ndarray, image_format: str, quality: int = 95) -> bytes:
    """PNG or JPEG bytes of a grey image."""
    if image_format != "jpg":
        return encode_png(np.ascontiguousarray(image))
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, "L").save(buffer, "JPEG", quality=int(quality))
    return buffer.getvalue()


CLASS_LIST = "classes.txt"


def write_class_folders(out: Path, splits: Sequence[str], labels: set[str]) -> list[str]:
    """Give every split of the ``classes`` format a folder for every class of ``labels``
    and the folders already there, and write ``OUT/classes.txt``: the folder names, one a
    line, in the order torchvision's ImageFolder numbers them (sorted), so class *k* is
    line *k* in every split. Returns the names."""
    names = {class_folder(label) for label in labels}
    for split in splits:
        folder = format_folder(out, "classes", split)
        if folder.is_dir():
            names.update(entry.name for entry in os.scandir(folder) if entry.is_dir())
    ordered = sorted(names)
    for split in splits:
        folder = format_folder(out, "classes", split)
        for name in ordered:
            (folder / name).mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / CLASS_LIST, "".join(f"{n}\n" for n in ordered).encode())
    return ordered
