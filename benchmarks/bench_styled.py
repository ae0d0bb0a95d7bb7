"""The few-shot generator: `generate` speed (target ≤ 10 s for all 11,172) and training speed.

    python benchmarks/bench_styled.py [--weights FILE] [--repeats N]

Times :meth:`StyledGenerator.draw` of all 11,172 syllables in float32 with torch's default
threads (one per core) from eight references rendered from UnPilgi — what
`hangulgan generate --refs UnPilgi.ttf` spends on drawing; the shipped weights unless
``--weights`` names others. Also reports one training step's images/s (batch 64, float32,
one thread, for information: the shipped run's settings). The best of ``--repeats`` is
kept, since the machine is shared; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from report import Report

from hangulgan import hangul
from hangulgan.models.styled_inference import StyledGenerator, default_references
from hangulgan.models.styled_references import references_from_font

UNPILGI = "/usr/share/fonts/truetype/unfonts-core/UnPilgi.ttf"
TARGET_SECONDS = 10.0


def _training_rate(generator: StyledGenerator, steps: int = 6) -> float:
    """Images/s of the training step on random-like real shaped data (one thread)."""
    from hangulgan.eval.classifier import default_content_classifier_path
    from hangulgan.models.styled import StyledModel
    from hangulgan.models.styled_config import StyledConfig
    from hangulgan.train.contract import DataInfo
    from hangulgan.train.cpu import reuse_freed_memory

    torch.set_num_threads(1)
    reuse_freed_memory()  # the malloc setting `train` makes on CPU (generate was timed before)
    # The shipped weights record their run's content critic, a file of the machine that
    # trained them; the shipped content classifier (the same network) stands in for it, so
    # the step is timed with the content loss, as the shipped run trained.
    config = StyledConfig(
        **generator.config.to_dict() | {"content_critic": str(default_content_classifier_path())}
    )
    model = StyledModel(config, DataInfo(num_faces=1))
    rng = np.random.default_rng(0)
    cps = rng.choice(hangul.N_SYLLABLES, 64 + 16 * 8, replace=False) + hangul.FIRST
    images = torch.from_numpy(generator.content[cps - hangul.FIRST]).float() / 127.5 - 1
    batch = {
        "image": images[:64, None],
        "source": images[:64, None],
        "jamo": torch.from_numpy(hangul.jamo_table(cps[:64])),
        "face": torch.zeros(64, dtype=torch.long),
        "group": torch.arange(64) // 4,
        "refs": images[64:].view(16, 8, 1, *generator.size),
        "ref_jamo": torch.from_numpy(hangul.jamo_table(cps[64:])).view(16, 8, 3),
    }
    model.training_step(batch, 0)
    start = time.perf_counter()
    for step in range(steps):
        model.training_step(batch, step + 1)
    return 64 * steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    report = Report("styled")
    generator = StyledGenerator.load(args.weights)
    images, cps, _ = references_from_font(UNPILGI, default_references(), 8, generator.size)
    style = generator.style_from_images(images, cps)
    everything = hangul.all_syllables()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        drawn = generator.draw(style, everything)
        times.append(time.perf_counter() - start)
    best = min(times)
    assert drawn.shape[0] == hangul.N_SYLLABLES
    report.add(
        f"generate: draw 11,172 syllables ({torch.get_num_threads()} threads, float32)",
        f"{best:.1f} s ({hangul.N_SYLLABLES / best:,.0f} glyphs/s)",
        f"≤ {TARGET_SECONDS:.0f} s",
        best <= TARGET_SECONDS,
    )
    rate = _training_rate(generator)
    report.add("training step, batch 64, 1 thread, float32", f"{rate:,.0f} img/s")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
