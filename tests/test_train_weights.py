"""Weight files: one reader and writer (train/weights.py) for checkpoints, styled weights and
classifier files; format and version refused by name, in one place."""

from __future__ import annotations

import json
import stat

import pytest
import torch

from hangulgan.errors import CheckpointError
from hangulgan.eval.classifier import (
    load_classifier,
    load_default_content_classifier,
    save_classifier,
)
from hangulgan.models.styled_inference import StyledGenerator
from hangulgan.models.styled_weights import WEIGHTS_FORMAT, load_net_state
from hangulgan.train import checkpoint as ckpt
from hangulgan.train.weights import (
    check_format,
    header_fields,
    read_description,
    read_header,
    read_weights,
    write_weights,
)


def test_round_trip_keeps_tensors_and_header(tmp_path):
    tensors = {"a": torch.arange(6.0).view(2, 3).t(), "b": torch.tensor([1, 2], dtype=torch.int16)}
    path = write_weights(tmp_path / "sub" / "w.safetensors", tensors, header_fields("f", 3, x="y"))
    assert read_header(path, "thing") == {"format": "f", "version": "3", "x": "y"}
    read = read_weights(path, "f", 3, "thing")
    assert torch.equal(read.tensors["a"], tensors["a"]) and read.tensors["b"].dtype == torch.int16
    assert set(read_weights(path, "f", 3, "thing", prefix="b").tensors) == {"b"}
    # written like every other output, not owner-only as safetensors' save_file makes it
    assert stat.S_IMODE(path.stat().st_mode) & 0o044


def test_format_version_and_damage_are_refused_by_name(tmp_path):
    path = write_weights(tmp_path / "w.safetensors", {"a": torch.zeros(2)}, header_fields("f", 1))
    with pytest.raises(CheckpointError, match=r"w.safetensors: not a hangulgan thing$"):
        read_weights(path, "g", 1, "thing")
    with pytest.raises(CheckpointError, match="thing version 1, this hangulgan reads version 2"):
        read_weights(path, "f", 2, "thing")
    with pytest.raises(CheckpointError, match="no such thing"):
        read_weights(tmp_path / "none.safetensors", "f", 1, "thing")
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(CheckpointError, match="unreadable or truncated thing"):
        read_weights(path, "f", 1, "thing")
    with pytest.raises(CheckpointError, match="not a hangulgan thing"):
        check_format(path, {"version": 1}, "f", 1, "thing")

    description = tmp_path / "d.json"
    description.write_text(json.dumps({"format": "f", "version": 4}))
    assert read_description(description, "f", 4, "thing")["version"] == 4
    with pytest.raises(CheckpointError, match="thing version 4, this hangulgan reads version 5"):
        read_description(description, "f", 5, "thing")
    description.write_text("{broken")
    with pytest.raises(CheckpointError, match="d.json: not a thing description"):
        read_description(description, "f", 4, "thing")


def test_styled_weights_of_another_version_or_kind_are_refused(tmp_path):
    newer = write_weights(
        tmp_path / "newer.safetensors",
        {"net.x": torch.zeros(1), "content": torch.zeros(1), "bank.codes": torch.zeros(1)},
        header_fields(WEIGHTS_FORMAT, 2, info="{}"),
    )
    with pytest.raises(CheckpointError, match="styled weights file version 2, this hangulgan"):
        StyledGenerator.from_weights(newer)
    with pytest.raises(CheckpointError, match="styled weights file version 2"):
        load_net_state(newer)  # as --init-from: the same check

    checkpoint = ckpt.save_checkpoint(
        tmp_path / "step.safetensors",
        model_name="dcgan",
        step=1,
        networks={"G": torch.nn.Linear(2, 2)},
        optimizers={},
    )
    with pytest.raises(CheckpointError, match="not a hangulgan styled weights file"):
        StyledGenerator.from_weights(checkpoint)
    with pytest.raises(CheckpointError, match="holds a 'dcgan' model, not a styled one"):
        load_net_state(checkpoint)


def test_classifier_weights_of_another_format_are_refused(tmp_path):
    shipped = load_default_content_classifier()
    weights, _ = save_classifier(shipped, tmp_path / "c")
    assert load_classifier(tmp_path / "c").task == "content"
    write_weights(weights, shipped.net.state_dict(), header_fields("hangulgan.checkpoint", 1))
    with pytest.raises(CheckpointError, match="c.safetensors: not a hangulgan classifier file"):
        load_classifier(tmp_path / "c")
