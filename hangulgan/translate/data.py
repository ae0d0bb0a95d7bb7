"""Training data of the image-translation models: pairs (A, B) of images.

Three sources, one :class:`TranslationData` (the trainer's
:class:`~hangulgan.train.contract.TrainingData`), batches ``{"a": ..., "b": ...}`` in [-1, 1]:

* an image folder (``--data DIR``), laid out as

  - ``A/`` and ``B/`` with matching file names (aligned pairs),
  - side-by-side ``A|B`` images, each twice as wide as high (pix2pix's facades layout),
  - ``trainA/`` and ``trainB/`` (unaligned domains, CycleGAN's monet2photo layout),
  - any colour images with ``--layout colorize``: each image is its own target, its
    grayscale copy the input (the colorisation preset);

* a glyph corpus (``--corpus DIR --source-face X --target-face Y``): the glyphs of face X
  as A and of face Y as B, paired by syllable, or unpaired (``--unpaired``: the syllables
  split in two halves, A from one, B from the other, so that no syllable is in both).

Images are read by DataLoader workers (``--workers``); each is resized to ``--load-size``
and randomly cropped to ``--size`` (and flipped with ``--flip``), the randomness drawn from
the batch seed so that a resumed run reads the same batches. In unpaired data each A is
joined by a B drawn at random. Unreadable images are skipped (and counted, one line on
stderr); images of another mode (gray, palette, RGBA) are converted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hangulgan.errors import ConfigError
from hangulgan.translate.config import TranslateDataConfig

MAX_SIDE = 4096  # side of the training images (a batch of 16 RGB ones is 3 GiB in float32)
MAX_WORKERS = 256  # DataLoader worker processes
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def guess_layout(root: Path) -> str:
    """``folders``, ``unaligned`` or ``side-by-side`` from what ``root`` holds."""
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "folders"
    if (root / "trainA").is_dir() and (root / "trainB").is_dir():
        return "unaligned"
    return "side-by-side"


def readable_images(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The paths PIL can decode, and 'NAME (why)' for the others."""
    good, bad = [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                if image.width < 1 or image.height < 1:
                    raise OSError("empty image")
            good.append(path)
        except Exception as err:  # noqa: BLE001 - any decoder failure means "skip this file"
            bad.append(f"{path.name} ({type(err).__name__})")
    return good, bad


def image_to_array(image: Image.Image, channels: int) -> np.ndarray:
    """H×W×C float32 in [-1, 1], converted from whatever mode the file has."""
    mode = "L" if channels == 1 else "RGB"
    if image.mode in ("RGBA", "LA", "P") and mode == "RGB":
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)  # transparent → white, not black
    pixels = np.asarray(image.convert(mode), dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels / 127.5 - 1.0


class TranslationData:
    """A/B image pairs from a folder or a corpus (see the module docstring).

    ``paired`` tells whether ``a[i]`` and ``b[i]`` of a batch belong together (aligned
    data) or ``b`` was drawn at random (unaligned domains).
    """

    batch_keys = ("a", "b")

    def __init__(self, data: TranslateDataConfig) -> None:
        # upper bounds before anything is allocated: an image side of 10**7 ran out of memory
        if not 1 <= data.size <= MAX_SIDE:
            raise ConfigError(f"--size {data.size}: must lie in 1..{MAX_SIDE:,}")
        if not 0 <= data.load_size <= 2 * MAX_SIDE:
            raise ConfigError(f"--load-size {data.load_size}: must lie in 0..{2 * MAX_SIDE:,}")
        if not 0 <= data.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers {data.workers}: must lie in 0..{MAX_WORKERS}")
        if data.channels not in (0, 1, 3):
            raise ConfigError(
                f"--channels must be 1 or 3 (or 0: from the data), not {data.channels}"
            )
        if not 0 <= data.holdout < 1:
            raise ConfigError(f"--holdout must lie in [0, 1), not {data.holdout}")
        self.config = data
        self.load_size = data.load_size or data.size
        if self.load_size < data.size:
            raise ConfigError(f"--load-size {self.load_size} is smaller than --size {data.size}")
        self.size = (data.size, data.size)
        self.loader_workers = data.workers
        self.skipped: list[str] = []
        self.holdout_codepoints: list[int] = []
        # either file paths (images) or in-memory uint8 arrays (glyphs) for each domain
        self._paths_a: list[Path] = []
        self._paths_b: list[Path] = []
        self._side_by_side = False
        self._glyphs_a: np.ndarray | None = None
        self._glyphs_b: np.ndarray | None = None
        if data.corpus and data.data:
            raise ConfigError("give --data or --corpus, not both")
        if data.corpus:
            self._open_corpus(data)
        elif data.data:
            self._open_folder(Path(data.data), data)
        else:
            raise ConfigError("no training data given (--data FOLDER or --corpus FOLDER)")
        if self.skipped:
            shown = ", ".join(self.skipped[:5]) + (" …" if len(self.skipped) > 5 else "")
            print(
                f"hangulgan: skipped {len(self.skipped)} unreadable image(s): {shown}",
                file=sys.stderr,
                flush=True,
            )

    # -- opening -------------------------------------------------------------------------
    def _open_folder(self, root: Path, data: TranslateDataConfig) -> None:
        if not root.is_dir():
            raise ConfigError(f"{root}: no such folder")
        layout = guess_layout(root) if data.layout == "auto" else data.layout
        self.ink = False
        self.channels = data.channels or 3
        self.layout = layout
        if layout == "folders":
            a_dir, b_dir = root / "A", root / "B"
            names_a = {p.name for p in _images_in(a_dir)} if a_dir.is_dir() else set()
            names_b = {p.name for p in _images_in(b_dir)} if b_dir.is_dir() else set()
            if not names_a and not names_b:
                raise ConfigError(f"{root}: A/ and B/ hold no image ({', '.join(IMAGE_SUFFIXES)})")
            unmatched = sorted(names_a ^ names_b)
            if unmatched:
                only_a = sorted(names_a - names_b)
                only_b = sorted(names_b - names_a)
                parts = [f"only in A/: {', '.join(only_a[:10])}" if only_a else "",
                         f"only in B/: {', '.join(only_b[:10])}" if only_b else ""]  # fmt: skip
                raise ConfigError(
                    f"{root}: {len(unmatched)} image(s) without a partner of the same name "
                    f"({'; '.join(p for p in parts if p)})"
                )
            a, bad_a = readable_images([a_dir / n for n in sorted(names_a)])
            b, bad_b = readable_images([b_dir / n for n in sorted(names_b)])
            self.skipped = [f"A/{x}" for x in bad_a] + [f"B/{x}" for x in bad_b]
            keep = {p.name for p in a} & {p.name for p in b}  # a pair is skipped as a whole
            self._paths_a = [a_dir / n for n in sorted(keep)]
            self._paths_b = [b_dir / n for n in sorted(keep)]
            self.paired = True
        elif layout == "side-by-side":
            paths = _images_in(root)
            if not paths:
                raise ConfigError(f"{root}: holds no image ({', '.join(IMAGE_SUFFIXES)})")
            self._paths_a, self.skipped = readable_images(paths)
            self._paths_b = list(self._paths_a)
            self._side_by_side = True
            self.paired = True
        elif layout == "colorize":
            paths = _images_in(root)
            if not paths:
                raise ConfigError(f"{root}: holds no image ({', '.join(IMAGE_SUFFIXES)})")
            self._paths_a, self.skipped = readable_images(paths)
            self._paths_b = list(self._paths_a)
            self.channels = 3
            self.paired = True
        elif layout == "unaligned":
            for name in ("trainA", "trainB"):
                folder = root / name
                if not folder.is_dir() or not _images_in(folder):
                    raise ConfigError(f"{folder}: holds no image ({', '.join(IMAGE_SUFFIXES)})")
            self._paths_a, bad_a = readable_images(_images_in(root / "trainA"))
            self._paths_b, bad_b = readable_images(_images_in(root / "trainB"))
            self.skipped = [f"trainA/{x}" for x in bad_a] + [f"trainB/{x}" for x in bad_b]
            self.paired = False
        else:  # pragma: no cover - click restricts the choices
            raise ConfigError(f"unknown layout {layout!r}")
        if not self._paths_a or not self._paths_b:
            raise ConfigError(f"{root}: no readable image left ({len(self.skipped)} skipped)")
        self.face_names = ["A", "B"]
        self.codepoints = np.zeros(len(self._paths_a), dtype=np.int64)

    def _open_corpus(self, data: TranslateDataConfig) -> None:
        from hangulgan import hangul
        from hangulgan.data.corpus import Corpus

        if not data.source_face or not data.target_face:
            raise ConfigError("a corpus needs --source-face X and --target-face Y")
        corpus = Corpus.open(data.corpus)
        source, target = corpus.face(data.source_face), corpus.face(data.target_face)
        common = np.intersect1d(source.codepoints, target.codepoints)
        if data.charset not in (None, "", "all"):
            try:
                wanted = hangul.resolve_charset(data.charset)
            except ValueError as err:
                raise ConfigError(f"--charset {err}") from None
            common = np.intersect1d(common, np.asarray(wanted, dtype=common.dtype))
        if len(common) < 2:
            raise ConfigError(
                f"{data.corpus}: faces {data.source_face} and {data.target_face} share "
                f"{len(common)} syllable(s) of the charset; need at least 2"
            )
        held = held_out_syllables(common, data.holdout)
        train = np.setdiff1d(common, held)
        self.holdout_codepoints = [int(c) for c in held]
        if data.unpaired:  # alternate syllables: each half spans the whole charset
            cps_a, cps_b = train[0::2], train[1::2]
        else:
            cps_a = cps_b = train

        def gather(glyphs, cps: np.ndarray) -> np.ndarray:
            order = np.argsort(glyphs.codepoints)
            where = order[np.searchsorted(glyphs.codepoints, cps, sorter=order)]
            return np.ascontiguousarray(np.asarray(glyphs.images)[where])

        self._glyphs_a = gather(source, cps_a)
        self._glyphs_b = gather(target, cps_b)
        self._held_a, self._held_b = gather(source, held), gather(target, held)
        self.ink = True
        self.channels = data.channels or 1
        self.layout = "corpus"
        self.paired = not data.unpaired
        self.face_names = [data.source_face, data.target_face]
        self.codepoints = cps_a.astype(np.int64)
        self.placement: dict = {}

    # -- the TrainingData protocol ------------------------------------------------------
    def __len__(self) -> int:
        return len(self._glyphs_a) if self._glyphs_a is not None else len(self._paths_a)

    @property
    def domain_b_len(self) -> int:
        return len(self._glyphs_b) if self._glyphs_b is not None else len(self._paths_b)

    def _read_path(self, path: Path, half: int | None) -> np.ndarray:
        with Image.open(path) as image:
            if half is not None:  # side-by-side: A is the left half, B the right
                w = image.width // 2
                box = (0, 0, w, image.height) if half == 0 else (w, 0, 2 * w, image.height)
                image = image.crop(box)
            image = image.resize((self.load_size, self.load_size), Image.BICUBIC)
            return image_to_array(image, self.channels)

    def _read_glyph(self, glyph: np.ndarray) -> np.ndarray:
        image = Image.fromarray(glyph)
        if image.size != (self.load_size, self.load_size):
            image = image.resize((self.load_size, self.load_size), Image.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32)[:, :, None] / 127.5 - 1.0  # ink = +1
        return np.repeat(pixels, self.channels, axis=2)

    def read(self, domain: int, index: int) -> np.ndarray:
        """Item ``index`` of domain 0 (A) or 1 (B), resized to ``load_size``: H×W×C."""
        glyphs = self._glyphs_a if domain == 0 else self._glyphs_b
        if glyphs is not None:
            return self._read_glyph(glyphs[index])
        paths = self._paths_a if domain == 0 else self._paths_b
        return self._read_path(paths[index], domain if self._side_by_side else None)

    def held_out_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Corpus data: the held-out syllables of the source and the target face, each
        N×C×H×W in [-1, 1] at the training size (what ``translate evaluate`` scores)."""
        if self.layout != "corpus":
            raise ConfigError("only corpus data holds syllables out (give --input and --target)")
        side = self.size[0]
        top = (self.load_size - side) // 2  # the centre crop

        def stack(glyphs: np.ndarray) -> torch.Tensor:
            if not len(glyphs):
                return torch.zeros(0, self.channels, side, side)
            items = [
                self._read_glyph(g)[top : top + side, top : top + side].transpose(2, 0, 1)
                for g in glyphs
            ]
            return torch.from_numpy(np.ascontiguousarray(np.stack(items)))

        return stack(self._held_a), stack(self._held_b)

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        """A and B images of ``indices``; crops, flips and unpaired partners come from ``seed``."""
        rng = np.random.default_rng(0 if seed is None else seed)
        if self.paired:
            partners = np.asarray(indices)
        else:
            partners = rng.integers(0, self.domain_b_len, len(indices))
        side, load = self.size[0], self.load_size
        a_list, b_list = [], []
        for i, j in zip(indices, partners, strict=True):
            a, b = self.read(0, int(i)), self.read(1, int(j))
            y, x = rng.integers(0, load - side + 1, 2)
            a, b = a[y : y + side, x : x + side], b[y : y + side, x : x + side]
            if self.config.flip and rng.random() < 0.5:
                a, b = a[:, ::-1], b[:, ::-1]
            if (self.config.gray_input or self.layout == "colorize") and self.channels == 3:
                a = np.repeat(a @ np.float32([0.299, 0.587, 0.114])[:, None], 3, axis=2)
            a_list.append(np.ascontiguousarray(a.transpose(2, 0, 1)))
            b_list.append(np.ascontiguousarray(b.transpose(2, 0, 1)))
        return {"a": torch.from_numpy(np.stack(a_list)), "b": torch.from_numpy(np.stack(b_list))}


def held_out_syllables(codepoints: np.ndarray, fraction: float) -> np.ndarray:
    """Every ``1/fraction``-th syllable in code point order (none when ``fraction`` is 0):
    a split that any run on the same corpus and charset reproduces."""
    codepoints = np.sort(np.asarray(codepoints))
    if fraction <= 0:
        return codepoints[:0]
    every = max(2, round(1 / fraction))
    return codepoints[every // 2 :: every]


def check_divisible(size: int, factor: int, what: str) -> None:
    """ConfigError naming the sizes that work when ``size`` is not a multiple of ``factor``."""
    if size % factor:
        works = ", ".join(str(factor * k) for k in range(1, 6))
        raise ConfigError(
            f"image size {size} does not divide by {factor}, which {what} needs; "
            f"sizes that work: {works}, … (multiples of {factor})"
        )
