"""Using trained translation runs: translate a folder of images or a glyph set
(``translate test``) and score runs against targets (``translate evaluate``: MSE, PSNR and
SSIM with the gaussian window of :mod:`hangulgan.eval.metrics`, plus an HTML page
input | outputs | target).

A glyph set is read as its glyphs (named ``U+XXXX`` by code point), each drawn black on
white as an image file of it would be; the other files in its folder (``preview.png``)
are not inputs. ``translate test`` records what it wrote in ``OUT/translations.json``,
first, so ``force`` replaces its own earlier outputs and never a file it did not write.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hangulgan.data.glyphset import META_FILE, GlyphSet
from hangulgan.errors import ConfigError
from hangulgan.eval import metrics
from hangulgan.io import atomic_path, read_format_json, write_bytes_atomic, write_json_atomic
from hangulgan.train.grid import save_panels, to_display
from hangulgan.train.runs import LoadedRun, open_run
from hangulgan.translate.data import IMAGE_SUFFIXES, image_to_array, readable_images
from hangulgan.translate.models import Translator
from hangulgan.translate.unpaired import UGATIT

BATCH = 16
# translate test's record of what it wrote in OUT: the mark --force looks for
TRANSLATIONS_FILE = "translations.json"
TRANSLATIONS_FORMAT = "hangulgan.translations"
TRANSLATIONS_VERSION = 1
# how every page translate evaluate writes begins: the mark its --force looks for
PAGE_HEAD = "<!doctype html><meta charset=utf-8><title>hangulgan translate evaluate</title>"


def open_translator(run_dir: str | Path, device: str = "cpu") -> LoadedRun:
    """A translation run's model; ConfigError when the run holds another kind of model."""
    run = open_run(run_dir, device=device)
    if not isinstance(run.model, Translator):
        raise ConfigError(f"{run_dir}: holds a {run.config.model} run, not a translation model")
    return run


def is_glyphset(folder: Path) -> bool:
    """Whether ``folder`` is a glyph set (read as its glyphs, not as image files)."""
    return (Path(folder) / META_FILE).is_file()


def _model_input(image: Image.Image, run: LoadedRun) -> np.ndarray:
    """One image as the run's model takes it: C×H×W in [-1, 1] (glyphs drawn black on white
    become ink = +1)."""
    info, data = run.model.info, run.config.data
    image = image.resize((info.width, info.height), Image.BICUBIC)
    pixels = image_to_array(image, info.channels)
    if info.ink:
        pixels = -pixels  # files show ink dark on paper; the model's ink is +1
    gray = data.gray_input or data.layout == "colorize"  # the inputs it was trained on
    if gray and info.channels == 3:
        pixels = np.repeat(pixels @ np.float32([0.299, 0.587, 0.114])[:, None], 3, axis=2)
    return pixels.transpose(2, 0, 1)


def read_images(folder: Path, run: LoadedRun) -> tuple[list[str], torch.Tensor, list[str]]:
    """The images of ``folder`` as the run's model takes them: names, N×C×H×W in [-1, 1],
    and 'NAME (why)' for the unreadable. A glyph set gives its glyphs, named U+XXXX."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    if is_glyphset(folder):
        glyphs = GlyphSet.load(folder, augmented=False)
        # each glyph as its image file would show it: ink black on white paper
        items = [_model_input(Image.fromarray(255 - np.asarray(g)), run) for g in glyphs.images]
        names = [f"U+{int(cp):04X}" for cp in glyphs.codepoints]
        return names, torch.from_numpy(np.ascontiguousarray(np.stack(items))), []
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ConfigError(f"{folder}: holds no image ({', '.join(IMAGE_SUFFIXES)})")
    good, bad = readable_images(paths)
    items = []
    for path in good:
        with Image.open(path) as image:
            items.append(_model_input(image, run))
    if not items:
        raise ConfigError(f"{folder}: no readable image ({len(bad)} unreadable)")
    return [p.stem for p in good], torch.from_numpy(np.ascontiguousarray(np.stack(items))), bad


@torch.no_grad()
def translate_images(run: LoadedRun, images: torch.Tensor, use_ema: bool = True) -> torch.Tensor:
    """The run's A → B output for ``images`` (N×C×H×W in [-1, 1]), in batches, on CPU."""
    model = run.model
    outs = [
        model.generate({"a": images[i : i + BATCH]}, run.networks(use_ema))
        for i in range(0, len(images), BATCH)
    ]
    return torch.cat(outs)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _earlier_outputs(out: Path, files: list[str], force: bool) -> list[str]:
    """The files an earlier ``translate test`` recorded in ``out``; ConfigError when writing
    ``files`` there would replace a file without ``force``, or one it did not write."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    record = out / TRANSLATIONS_FILE
    clashes = [name for name in (*files, TRANSLATIONS_FILE) if (out / name).exists()]
    if clashes and not force:
        raise ConfigError(f"{out / clashes[0]}: already exists (replace it with --force)")
    if not record.exists():
        if clashes:
            raise ConfigError(
                f"{out / clashes[0]}: not written by translate test (no {TRANSLATIONS_FILE} "
                f"in {out}); --force replaces only its own outputs"
            )
        return []
    earlier = read_format_json(
        record, TRANSLATIONS_FORMAT, TRANSLATIONS_VERSION, ConfigError, "translate test record"
    ).get("files")
    if not isinstance(earlier, list) or not all(isinstance(f, str) for f in earlier):
        raise ConfigError(f"{record}: lacks the list of files translate test wrote")
    foreign = [name for name in clashes if name != TRANSLATIONS_FILE and name not in earlier]
    if foreign:
        raise ConfigError(
            f"{out / foreign[0]}: not written by translate test (not in {record}); --force "
            "replaces only its own outputs"
        )
    return earlier


def translate_folder(
    run_dir: str | Path,
    input_dir: str | Path,
    out_dir: str | Path,
    heatmaps: bool = False,
    use_ema: bool = True,
    device: str = "cpu",
    force: bool = False,
) -> tuple[int, list[str]]:
    """Write the run's translation of every image of ``input_dir`` (or every glyph of a
    glyph set) to ``out_dir/NAME.png`` (with ``heatmaps``, U-GAT-IT's attention to
    ``out_dir/NAME.attention.png``). Files there are replaced only with ``force``, and only
    those an earlier run wrote. Returns the count written and the unreadable inputs
    skipped."""
    run = open_translator(run_dir, device)
    if heatmaps and not isinstance(run.model, UGATIT):
        raise ConfigError(f"--heatmaps: the {run.config.model} model has no attention maps")
    names, images, skipped = read_images(Path(input_dir), run)
    out = Path(out_dir)
    files = [f"{name}.png" for name in names]
    if heatmaps:
        files += [f"{name}.attention.png" for name in names]
    earlier = _earlier_outputs(out, files, force)
    out.mkdir(parents=True, exist_ok=True)
    # the record first: a run stopped part-way leaves outputs that --force knows for its own
    record = {
        "format": TRANSLATIONS_FORMAT,
        "version": TRANSLATIONS_VERSION,
        "run": str(run_dir),
        "input": str(input_dir),
        "files": sorted(set(earlier) | set(files)),
    }
    write_json_atomic(out / TRANSLATIONS_FILE, record)
    outputs = to_display(translate_images(run, images, use_ema), ink=run.model.info.ink)
    for name, pixels in zip(names, outputs, strict=True):
        write_bytes_atomic(out / f"{name}.png", _png(pixels))
    if heatmaps:
        assert isinstance(run.model, UGATIT)
        heat = torch.cat(
            [run.model.heatmaps(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
        )
        for name, pixels in zip(names, to_display(heat, ink=False), strict=True):
            write_bytes_atomic(out / f"{name}.attention.png", _png(pixels))
    return len(names), skipped


@dataclass
class Scores:
    """One run's scores on the evaluation pairs (means over the images)."""

    run: str
    model: str
    images: int
    mse: float
    psnr: float
    ssim: float
    # glyph runs on held-out syllables only: the shipped content classifier's reading of
    # the outputs (all three jamo right) and the Glyph-FID of outputs against targets
    content_accuracy: float | None = None
    glyph_fid: float | None = None


def _unit_planes(images: torch.Tensor) -> torch.Tensor:
    """N×C×H×W in [-1, 1] → (N·C)×H×W in [0, 1]: the metrics module scores single planes."""
    return ((images.float().clamp(-1, 1) + 1) / 2).reshape(-1, *images.shape[-2:])


def score(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float, float]:
    """Mean MSE, PSNR (dB, per image) and SSIM of ``outputs`` against ``targets`` in [0, 1]
    units, channels averaged within each image."""
    channels = outputs.shape[1]
    a, b = _unit_planes(outputs), _unit_planes(targets)
    mse = metrics.mse(a, b).reshape(-1, channels).mean(1)
    ssim = metrics.ssim(a, b).reshape(-1, channels).mean(1)
    psnr = metrics.psnr_from_mse(mse)
    return float(mse.mean()), float(np.mean(psnr)), float(ssim.mean())


def evaluation_pairs(
    run: LoadedRun, input_dir: Path | None, target_dir: Path | None
) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """(names, inputs, targets): the held-out syllables of a corpus run, or the images of
    ``input_dir`` with the same-named ones of ``target_dir``."""
    if input_dir is None and target_dir is None:
        from hangulgan.translate.data import TranslationData

        dataset = TranslationData(run.config.data)
        if dataset.layout != "corpus":
            raise ConfigError(
                f"{run.run_dir}: trained on image folders; give --input DIR and --target DIR"
            )
        a, b = dataset.held_out_pairs()
        if not len(a):
            raise ConfigError(f"{run.run_dir}: its data holds no syllable out (--holdout 0)")
        return [f"U+{cp:04X}" for cp in dataset.holdout_codepoints], a, b
    if input_dir is None or target_dir is None:
        raise ConfigError("give both --input DIR and --target DIR (or neither, for corpus runs)")
    names, a, _ = read_images(input_dir, run)
    target_names, b, _ = read_images(target_dir, run)
    lookup = dict(zip(target_names, b, strict=True))
    missing = [n for n in names if n not in lookup]
    if missing:
        raise ConfigError(f"{target_dir}: no target for {', '.join(missing[:10])}")
    return names, a, torch.stack([lookup[n] for n in names])


def evaluate_runs(
    run_dirs: list[Path],
    input_dir: Path | None = None,
    target_dir: Path | None = None,
    html_path: Path | None = None,
    show: int = 16,
    use_ema: bool = True,
    device: str = "cpu",
    sheet_path: Path | None = None,
) -> list[Scores]:
    """Score each run on its evaluation pairs; with ``html_path``, write a page with the
    table and ``show`` rows of input | each run's output | target; with ``sheet_path``, a
    PNG of the same samples (the trainer's labelled sheet: a column each for input, every
    run, target)."""
    results: list[Scores] = []
    columns: list[tuple[str, np.ndarray]] = []
    outputs: dict[str, torch.Tensor] = {}  # the sheet's panels, by run folder name
    first: tuple[list[str], torch.Tensor, torch.Tensor, bool] | None = None
    for run_dir in run_dirs:
        run = open_translator(run_dir, device)
        names, a, b = evaluation_pairs(run, input_dir, target_dir)
        out = translate_images(run, a, use_ema)
        mse, psnr, ssim = score(out, b)
        result = Scores(str(run_dir), run.config.model, len(a), mse, psnr, ssim)
        if run.model.info.ink and all(n.startswith("U+") for n in names) and len(a) >= 2:
            result.content_accuracy, result.glyph_fid = legibility_scores(names, out, b)
        results.append(result)
        ink = run.model.info.ink
        if first is None:
            first = (names, a, b, ink)
        columns.append((f"{run.config.model} ({run_dir.name})", to_display(out[:show], ink)))
        label = run_dir.name if run_dir.name not in outputs else str(run_dir)
        outputs[label] = out[:show]
    if html_path is not None and first is not None:
        names, a, b, ink = first
        write_html(
            html_path, results, names[:show], to_display(a[:show], ink), columns,
            to_display(b[:show], ink),
        )  # fmt: skip
    if sheet_path is not None and first is not None:
        names, a, b, ink = first
        save_panels({"input": a[:show], **outputs, "target": b[:show]}, sheet_path, ink=ink)
    return results


def legibility_scores(
    names: list[str], outputs: torch.Tensor, targets: torch.Tensor
) -> tuple[float, float]:
    """Content accuracy of ``outputs`` (glyphs of the syllables ``names``, "U+XXXX") and
    their Glyph-FID against ``targets``, by the shipped content classifier: a model that
    blurs strokes can win on MSE and lose here."""
    from hangulgan.eval.classifier import load_default_content_classifier

    classifier = load_default_content_classifier()

    def glyphs(images: torch.Tensor) -> np.ndarray:
        ink = ((images[:, :1].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return metrics.resize_glyphs(ink[:, 0].numpy(), tuple(classifier.size))

    codepoints = np.asarray([int(n[2:], 16) for n in names])
    read = metrics.content_accuracy(classifier, glyphs(outputs), codepoints)
    fid = metrics.glyph_fid(classifier, glyphs(outputs), glyphs(targets))
    return read["content_accuracy"], fid


def _img(pixels: np.ndarray) -> str:
    data = base64.b64encode(_png(pixels)).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" width="{2 * pixels.shape[1]}">'


def format_or_dash(value: float | None, spec: str) -> str:
    """``value`` formatted, or "-" where the run has none."""
    return "-" if value is None else format(value, spec)


def write_html(
    path: Path,
    results: list[Scores],
    names: list[str],
    inputs: np.ndarray,
    columns: list[tuple[str, np.ndarray]],
    targets: np.ndarray,
) -> Path:
    """One self-contained page: the score table, then input | outputs | target rows."""
    rows = "".join(
        f"<tr><td>{html.escape(r.model)}</td><td>{html.escape(r.run)}</td><td>{r.images}</td>"
        f"<td>{r.mse:.5f}</td><td>{r.psnr:.2f}</td><td>{r.ssim:.4f}</td>"
        f"<td>{format_or_dash(r.content_accuracy, '.3f')}</td>"
        f"<td>{format_or_dash(r.glyph_fid, '.2f')}</td></tr>"
        for r in results
    )
    heads = "".join(f"<th>{html.escape(label)}</th>" for label, _ in columns)
    samples = ""
    for i, name in enumerate(names):
        cells = "".join(f"<td>{_img(images[i])}</td>" for _, images in columns)
        samples += (
            f"<tr><td>{html.escape(name)}</td><td>{_img(inputs[i])}</td>{cells}"
            f"<td>{_img(targets[i])}</td></tr>"
        )
    page = (
        f"{PAGE_HEAD}<h1>Translation scores</h1><table border=1><tr><th>model</th><th>run</th>"
        "<th>images</th><th>MSE</th><th>PSNR (dB)</th><th>SSIM</th><th>content accuracy</th>"
        f"<th>Glyph-FID</th></tr>{rows}</table>"
        f"<h2>Samples</h2><table><tr><th></th><th>input</th>{heads}<th>target</th></tr>"
        f"{samples}</table>"
    )
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return path
