"""Image-translation commands: ``hangulgan translate train MODEL``, ``test``, ``evaluate``.

``translate train`` lists the translation models (:mod:`hangulgan.translate`); each
subcommand is generated from the model's config, data config and the trainer's config by
the same builder as ``hangulgan train MODEL`` (:func:`build_train_command`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hangulgan.cli.train_commands import build_train_command
from hangulgan.train.registry import MODELS, TRANSLATION, model_entry, model_names

EXIT_SKIPPED = 1  # done, some input skipped (hangulgan.cli's exit codes)


class _TranslationModels(click.Group):
    """``translate train``'s subcommands: one per registered translation model."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return model_names(TRANSLATION)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in MODELS or model_entry(name).family != TRANSLATION:
            return None
        return build_train_command(model_entry(name))


@click.group("translate")
def translate_group() -> None:
    """Image-to-image translation: pix2pix, the U-Net autoencoder, CycleGAN, U-GAT-IT.

    \b
    Data (--data DIR): A/ and B/ with matching file names, side-by-side A|B images
    (the pix2pix facades layout), or trainA/ and trainB/ (unaligned, the CycleGAN
    monet2photo layout); or glyphs of a corpus, face X → face Y:
      hangulgan translate train pix2pix --corpus corpus/ --source-face NanumGothic \\
          --target-face NanumMyeongjo --run runs/p2p
    """


@translate_group.group("train", cls=_TranslationModels)
def translate_train_group() -> None:
    """Train a translation model (options come from its config), in the shared trainer."""


@translate_group.command("test")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--input", "input_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of images, or a glyph set, to translate (A → B).")  # fmt: skip
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder the translations are written to (NAME.png per input; "
              "U+XXXX.png per glyph).")  # fmt: skip
@click.option("--heatmaps", is_flag=True,
              help="U-GAT-IT: also write each attention map (NAME.attention.png).")  # fmt: skip
@click.option("--ema/--no-ema", default=True, show_default=True,
              help="Use the EMA generator when the run kept one.")  # fmt: skip
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--force", is_flag=True,
              help="Replace translations an earlier translate test wrote in --out (listed "
              "in its translations.json); no other file is ever replaced.")  # fmt: skip
def translate_test_command(
    run_dir: Path, input_dir: Path, out_dir: Path, heatmaps: bool, ema: bool, device: str,
    force: bool,
) -> None:  # fmt: skip
    """Translate every image of --input (or every glyph of a glyph set) with a trained run;
    exit 1 when some were skipped.

    \b
    Example:
      hangulgan translate test runs/p2p --input photos/ --out translated/
    """
    from hangulgan.translate.infer import is_glyphset, translate_folder

    count, skipped = translate_folder(
        run_dir, input_dir, out_dir, heatmaps, ema, device, force=force
    )
    what = "glyph(s)" if is_glyphset(input_dir) else "image(s)"
    click.echo(f"translated {count} {what} into {out_dir}")
    if skipped:
        click.echo(f"skipped {len(skipped)} unreadable: {', '.join(skipped)}", err=True)
        sys.exit(EXIT_SKIPPED)


@translate_group.command("evaluate")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--input", "input_dir", type=click.Path(path_type=Path),
              help="Inputs to score (default: a corpus run's held-out syllables).")  # fmt: skip
@click.option("--target", "target_dir", type=click.Path(path_type=Path),
              help="Targets with the inputs' file names.")  # fmt: skip
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="Write a page: the table, then input | each output | target.")  # fmt: skip
@click.option("--sheet", "sheet_path", type=click.Path(path_type=Path),
              help="Write a PNG: columns input, each run's output, target.")  # fmt: skip
@click.option("--show", default=16, show_default=True,
              help="Samples on the page and the sheet.")  # fmt: skip
@click.option("--ema/--no-ema", default=True, show_default=True,
              help="Use the EMA generator when the run kept one.")  # fmt: skip
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--force", is_flag=True,
              help="Replace a page or sheet hangulgan wrote; never another file.")  # fmt: skip
def translate_evaluate_command(
    run_dirs: tuple[Path, ...], input_dir: Path | None, target_dir: Path | None,
    html_path: Path | None, sheet_path: Path | None, show: int, ema: bool, device: str,
    force: bool,
) -> None:  # fmt: skip
    """Score translation runs: MSE, PSNR and SSIM (gaussian window) per run, one table;
    glyph runs on held-out syllables also get the content classifier's accuracy on the
    outputs and their Glyph-FID against the targets.

    Corpus runs are scored on the syllables their data held out (the same split for every
    run on the same corpus, charset and --holdout); image runs on --input/--target.

    \b
    Example:
      hangulgan translate evaluate runs/p2p runs/ae --html compare.html --sheet compare.png
    """
    from hangulgan.cli.outputs import check_page_out, check_png_out
    from hangulgan.train.config import RunConfig
    from hangulgan.translate.infer import PAGE_HEAD, evaluate_runs, format_or_dash

    for run_dir in run_dirs:
        RunConfig.load(run_dir)  # the inputs first: an output clash must not hide a wrong RUN
    if html_path is not None:
        check_page_out(html_path, force, PAGE_HEAD, "--html")
    if sheet_path is not None:
        check_png_out(sheet_path, force, "--sheet")
    results = evaluate_runs(
        list(run_dirs), input_dir, target_dir, html_path, show, ema, device, sheet_path
    )
    click.echo(
        f"{'model':<12} {'images':>6} {'MSE':>9} {'PSNR':>7} {'SSIM':>7} {'content':>7} "
        f"{'G-FID':>7}  run"
    )
    for r in results:
        click.echo(
            f"{r.model:<12} {r.images:>6} {r.mse:>9.5f} {r.psnr:>7.2f} {r.ssim:>7.4f} "
            f"{format_or_dash(r.content_accuracy, '.3f'):>7} "
            f"{format_or_dash(r.glyph_fid, '.2f'):>7}  {r.run}"
        )
    if html_path:
        click.echo(f"page: {html_path}")
    if sheet_path:
        click.echo(f"sheet: {sheet_path}")
