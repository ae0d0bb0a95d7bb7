"""What ``ocr-export`` sets text from: every source becomes a font.

A source reference is

- a font file (every face of a collection) or a folder of font files (a web font's subset
  files are one face, the union of their coverage);
- a corpus folder (all its faces) or one face, ``CORPUS::FACE``: the font file the face was
  rendered from, when it is still where the corpus recorded it and unchanged (its SHA-256),
  its Hangul syllables limited to those the corpus holds (its charset: held-out syllables
  stay held out) and its other characters all the font's; otherwise the face's glyphs,
  exported to a font as below;
- a glyph-set folder (a model's output): its glyphs traced and built into a TrueType font
  by :func:`hangulgan.vector.fontbuild.build_font`, with the basic Latin and compatibility
  jamo it lacks borrowed from ``--fallback-font``, then set like any font.

Styles drawn by the styled model (``--styles``) are glyph sets and enter the same way.
:func:`resolve` turns references into :class:`SourceSpec` (picklable: workers receive
them), building fonts into a scratch folder; :func:`open_spec` opens one as a
:class:`~hangulgan.ocr.fonts.FontSource`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hangulgan import hangul
from hangulgan.data.face import FaceInfo
from hangulgan.data.glyphset import GlyphSet
from hangulgan.errors import ConfigError, FontError, GlyphSetError, HangulganError
from hangulgan.ocr.fonts import FontFace, FontSource

# A glyph image whose brightest pixel is under this draws nothing (as the render stage's
# ink check): such a syllable of a corpus face is not set even if its font has it.
INK_LEVEL = 64


@dataclass(frozen=True)
class SourceSpec:
    """One source: its name, its design (``--by style``), its faces as (file, index)."""

    name: str
    group: str
    faces: tuple[tuple[str, int], ...]
    origin: str = "font"  # font, corpus font, or built from glyphs
    # the Hangul syllables it may set (a corpus face: those the corpus holds); () = all
    syllables: tuple[int, ...] = ()
    label: str = ""  # the reference it came from: its name when the short one is taken


def open_spec(spec: SourceSpec, fallback: Sequence[FontFace] = ()) -> FontSource:
    """The :class:`FontSource` of ``spec``, its faces read into memory."""
    faces = [FontFace(path, index) for path, index in spec.faces]
    allowed = frozenset(spec.syllables) if spec.syllables else None
    return FontSource(spec.name, faces, list(fallback), spec.group, allowed)


def open_fallback(path: str | Path | None) -> list[FontFace]:
    """The faces of ``--fallback-font`` (every face of a collection); none without one.
    ConfigError naming the file when it is missing or no font."""
    if path is None:
        return []
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such fallback font")
    try:
        first = FontFace(path, 0)
        count = int(first.ft.num_faces)
        return [first, *(FontFace(path, i) for i in range(1, min(count, 4)))]
    except FontError as err:
        raise ConfigError(f"--fallback-font {err}") from None


def _face_files(info: FaceInfo) -> tuple[tuple[str, int], ...]:
    """The (file, face index) pairs a face is drawn from: a web font's subset files, or one."""
    parts = getattr(info, "parts", None)
    if parts:
        return tuple((str(part.path), part.index) for part in parts)
    return ((str(info.path), info.index),)


def _font_specs(path: Path) -> list[SourceSpec]:
    from hangulgan.data.fonts import collect_faces

    faces, skipped = collect_faces([path])
    if not faces:
        reasons = "; ".join(str(s) for s in skipped if not s.duplicate)[:300]
        raise ConfigError(f"{path}: no font face with Hangul syllables ({reasons or 'none'})")
    specs = []
    for info in faces:
        label = f"{path}::{info.face_id}"
        specs.append(
            SourceSpec(info.face_id, info.family or info.face_id, _face_files(info), label=label)
        )
    return specs


def _corpus_font(record: dict) -> tuple[tuple[str, int], ...] | None:
    """The font file a corpus face was rendered from, if it is still there unchanged; for a
    web font (a folder of subset files) the files of the face with the recorded digest."""
    from hangulgan.data.fonts import collect_faces, file_sha256

    path = Path(str(record.get("file", "")))
    if path.is_dir():
        # A render with a narrow --charset merges only the subset files that hold some of
        # it, so the folder's face may sign differently: the same names will do (a syllable
        # these files lack is never set from them: a source sets only what a face maps).
        faces, _ = collect_faces([path])
        names = ("family", "style", "postscript_name")
        for info in faces:
            if info.file_sha256 == record.get("file_sha256") or all(
                getattr(info, key) == record.get(key) for key in names
            ):
                return _face_files(info)
        return None
    if not path.is_file():
        return None
    try:
        if file_sha256(path) != record.get("file_sha256"):
            return None
    except OSError:
        return None
    return ((str(path), int(record.get("face_index", 0))),)


def build_glyph_font(
    glyphs: GlyphSet, scratch: Path, name: str, fallback: str | Path | None
) -> tuple[str, int]:
    """Trace ``glyphs`` into a TrueType font in ``scratch`` (Latin borrowed from
    ``fallback``); ConfigError naming the source when it cannot be built."""
    from hangulgan.vector.fontbuild import build_font
    from hangulgan.vector.names import FontInfo

    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"source-{len(list(scratch.glob('source-*.ttf'))) + 1:04d}.ttf"
    try:
        build_font(
            glyphs, out, FontInfo(family="Hangulgan OCR Source"), fallback=fallback, label=name
        )
    except HangulganError as err:
        raise ConfigError(f"{name}: cannot be set as a font ({err})") from None
    return str(out), 0


def resolve(
    refs: Sequence[str],
    scratch: Path,
    styled: Sequence[GlyphSet] = (),
    fallback: str | Path | None = None,
    note: Callable[[str], None] | None = None,
) -> list[SourceSpec]:
    """The sources of ``refs`` and of the drawn ``styled`` glyph sets (see the module);
    glyph sets are built into fonts in ``scratch``, which must outlive the specs' use.
    ``note`` hears of each corpus face whose font is gone and is set from its glyphs."""
    from hangulgan.data.corpus import MANIFEST, Corpus, open_glyphset
    from hangulgan.data.fonts import FONT_SUFFIXES

    specs: list[SourceSpec] = []
    for ref in refs:
        path = Path(ref)
        corpus_faces: list[tuple[Corpus, str]] = []
        if "::" in ref:
            folder, face = ref.rsplit("::", 1)
            if (Path(folder) / MANIFEST).is_file():
                corpus_faces = [(Corpus.open(folder), face)]
        elif (path / MANIFEST).is_file() and not (path / "glyphset.json").is_file():
            corpus = Corpus.open(path)
            if not corpus.face_names:
                raise ConfigError(f"{path}: corpus holds no face")
            corpus_faces = [(corpus, face) for face in corpus.face_names]
        elif path.is_file() and path.suffix.lower() in FONT_SUFFIXES:
            specs += _font_specs(path)
            continue
        elif path.is_dir() and not (path / "glyphset.json").is_file():
            if any(p.suffix.lower() in FONT_SUFFIXES for p in path.rglob("*") if p.is_file()):
                specs += _font_specs(path)
                continue
        for corpus, face in corpus_faces:
            try:
                record = corpus.face_record(face)
            except GlyphSetError as err:
                raise ConfigError(str(err)) from None
            label = f"{corpus.folder}::{face}"
            family = str(record.get("family") or face)
            files = _corpus_font(record)
            if files is not None:
                # the corpus's syllables (its charset, less inkless glyphs), the font's rest
                glyphs = corpus.face(face, augmented=False)
                inked = [
                    int(cp)
                    for cp, image in zip(glyphs.codepoints.tolist(), glyphs.images, strict=True)
                    if hangul.is_syllable(int(cp)) and image.max() > INK_LEVEL
                ]
                specs.append(
                    SourceSpec(face, family, files, "corpus font", tuple(inked), label=label)
                )
                continue
            if note is not None:
                note(
                    f"{label}: its font {record.get('file')} is gone or changed; "
                    "set from its glyphs"
                )
            glyphs = corpus.face(face, augmented=False)
            specs.append(
                SourceSpec(
                    face,
                    family,
                    (build_glyph_font(glyphs, scratch, label, fallback),),
                    "glyphs",
                    label=label,
                )
            )
        if corpus_faces:
            continue
        if not path.exists() and "::" not in ref:
            raise ConfigError(f"{ref}: no such font, corpus or glyph set")
        try:
            glyphs = open_glyphset(ref)
        except GlyphSetError as err:
            raise ConfigError(str(err)) from None
        group = str(glyphs.meta.get("family") or glyphs.meta.get("style") or glyphs.name)
        specs.append(
            SourceSpec(
                glyphs.name,
                group,
                (build_glyph_font(glyphs, scratch, ref, fallback),),
                "glyphs",
                label=ref,
            )
        )
    for glyphs in styled:
        specs.append(
            SourceSpec(
                glyphs.name,
                str(glyphs.meta.get("family") or glyphs.name),
                (build_glyph_font(glyphs, scratch, glyphs.name, fallback),),
                "glyphs",
            )
        )
    names: dict[str, SourceSpec] = {}
    unique = []
    for spec in specs:
        taken = names.get(spec.name)
        if taken is not None and taken.faces == spec.faces:
            continue  # the same font named twice is one source
        if taken is not None:  # two faces of one name (two corpora's): the longer label
            spec = replace(spec, name=spec.label or f"{spec.name}-{len(unique) + 1}")
        names[spec.name] = spec
        unique.append(spec)
    return unique


def open_sources(
    refs: Sequence[str],
    scratch: Path,
    styled: Sequence[GlyphSet] = (),
    fallback: str | Path | None = None,
) -> list[FontSource]:
    """:func:`resolve` and :func:`open_spec` in one: the sources of ``refs``, opened."""
    faces = open_fallback(fallback)
    return [open_spec(spec, faces) for spec in resolve(refs, scratch, styled, fallback)]
