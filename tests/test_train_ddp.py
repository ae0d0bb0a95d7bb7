"""DDP under torchrun: two CPU processes (gloo) stay in lockstep; only rank 0 writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import numpy as np
    from safetensors.torch import save_file
    from hangulgan.models.dcgan_config import DCGANConfig
    from hangulgan.train.config import TrainConfig
    from hangulgan.data.dataset import GlyphDataset
    from hangulgan.data.glyphset import GlyphSet
    from hangulgan.train.trainer import new_model, train

    out = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    images = (rng.random((32, 16, 16)) > 0.5).astype(np.uint8) * 255
    data = GlyphDataset.from_glyphsets([GlyphSet(images, list(range(0xAC00, 0xAC00 + 32)))])
    captured = {}

    def grab(trainer, step, losses):
        for name, net in trainer.model.networks.items():
            for key, value in net.named_parameters():
                captured[f"{name}.{key}"] = value.detach().contiguous().clone()
        captured[f"d_loss.{step}"] = losses["d_loss"].reshape(1).clone()

    config = TrainConfig(steps=3, batch=8, log_every=1, sample_every=0, progress=False, grid=4)
    model = DCGANConfig(standing_samples=256, conditional=True)
    train(new_model("dcgan", model, data, config), config, data, out / "run", callbacks=[grab])
    save_file(captured, str(out / f"rank{os.environ['RANK']}.safetensors"))
    """
)


@pytest.mark.slow
def test_two_cpu_ranks_keep_identical_weights(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        str(script), str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = load_file(tmp_path / "rank0.safetensors")
    rank1 = load_file(tmp_path / "rank1.safetensors")
    weights = [k for k in rank0 if not k.startswith("d_loss")]
    assert len(weights) > 10
    for key in weights:
        assert torch.equal(rank0[key], rank1[key]), key
    # each rank saw its own half of the batch and its own noise, so its losses differ
    assert not torch.equal(rank0["d_loss.3"], rank1["d_loss.3"])
    # one run folder, written once, by rank 0
    run = tmp_path / "run"
    assert len((run / "metrics.csv").read_text().splitlines()) == 4
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-00000003.safetensors"]
    assert '"world_size": 2' in (run / "config.json").read_text()
