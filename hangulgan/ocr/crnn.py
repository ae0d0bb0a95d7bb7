"""A small CRNN text recognizer (``hangulgan train crnn``), trained by the shared trainer
with CTC loss on the words or lines of an ``ocr-export`` folder.

The network (Shi, Bai and Yao's CRNN, cut down for a CPU): five 3×3 convolutions with
batch norm, pooled to 1/16 of the height and 1/4 of the width, so that each output column
stands for 4 pixels of the line; the columns' features go through residual 1-D
convolutions (or a bidirectional LSTM: on these CPUs it costs 70 % more a step, and it
still read lines at a CER of 0.80 after 400 steps where the convolutions were at 0.03
after 300) and a linear layer to per-column scores over the alphabet and the
CTC blank (index 0). The LSTM reads each line only up to its own width (packed
sequences), so a batch's padding does not run through its state (the convolutions still
see a few pixels of it at a line's right edge, as paper). Greedy decoding takes the
best class of each column, merges repeats and drops blanks.

Lines of any width are resized to the config's height (aspect kept) and padded with paper
to the widest of their batch; pixels are ink = +1, paper = −1, as for glyphs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from hangulgan.errors import ConfigError
from hangulgan.ocr.crnn_config import (
    HEIGHT_FACTOR,
    WIDTH_FACTOR,
    CRNNConfig,
    CRNNDataConfig,
)
from hangulgan.ocr.lines import ExportSplit, open_split
from hangulgan.ocr.scoring import edit_distance
from hangulgan.train.contract import DataInfo, Model
from hangulgan.train.options import ModelConfig
from hangulgan.train.schedule import cosine_rate, set_rate

BLANK = 0


def default_alphabet(charset: str) -> str:
    """The alphabet of a run trained on an export: the space, then the export's
    charset.txt in its order (which leaves the space out)."""
    return " " + "".join(dict.fromkeys(ch for ch in charset if ch != " "))


class Codec:
    """Characters ↔ class indices: the blank is 0, ``alphabet[k]`` is ``k + 1``."""

    def __init__(self, alphabet: str) -> None:
        self.alphabet = alphabet
        self.index = {ch: k + 1 for k, ch in enumerate(alphabet)}

    @property
    def classes(self) -> int:
        """Output classes: the alphabet and the blank."""
        return len(self.alphabet) + 1

    def unknown(self, text: str) -> set[str]:
        """The characters of ``text`` outside the alphabet."""
        return {ch for ch in text if ch not in self.index}

    def encode(self, text: str) -> list[int]:
        """Class indices of ``text`` (every character must be in the alphabet)."""
        return [self.index[ch] for ch in text]

    def decode(self, indices: Sequence[int]) -> str:
        """The text of class indices (blanks dropped, nothing merged)."""
        return "".join(self.alphabet[k - 1] for k in indices if k != BLANK)


def ctc_collapse(best: Sequence[int], blank: int = BLANK) -> list[int]:
    """Greedy CTC decoding of one column sequence: merge runs of one class, drop blanks
    (``a a - a b b`` → ``a a b``: a blank between repeats keeps them apart)."""
    out: list[int] = []
    previous = None
    for k in best:
        k = int(k)
        if k != previous and k != blank:
            out.append(k)
        previous = k
    return out


def column_lengths(widths: torch.Tensor, columns: int) -> torch.Tensor:
    """The output columns that cover each image's own width (the rest is padding)."""
    lengths = torch.div(widths + WIDTH_FACTOR - 1, WIDTH_FACTOR, rounding_mode="floor")
    return lengths.clamp(1, columns).to(torch.int64)


def greedy_decode(logits: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Class indices read from B×T×C scores, each line up to its own length."""
    best = logits.argmax(dim=2).cpu().numpy()
    return [ctc_collapse(row[: int(n)]) for row, n in zip(best, lengths.tolist(), strict=True)]


# ------------------------------------------------------------------------------ data


class LineDataset:
    """The images and labels of one split of an export, as the trainer reads data
    (:class:`~hangulgan.train.contract.TrainingData`).

    Images are decoded as batches ask for them (an export of 100,000 lines stays on
    disk); a batch is padded with paper to its widest image, rounded up to a multiple of
    4. ``alphabet`` None takes the export's (:func:`default_alphabet`); a label with a
    character outside the alphabet is refused, naming the characters.
    """

    channels = 1
    ink = True
    loader_workers = 0  # decoding a batch costs a few milliseconds: no worker processes
    batch_keys = ("image", "width", "target", "target_length")

    def __init__(self, data: CRNNDataConfig, height: int, alphabet: str | None = None) -> None:
        if not data.data:
            raise ConfigError("no export given (--data FOLDER, made by `hangulgan ocr-export`)")
        self.split: ExportSplit = open_split(data.data, data.split)
        self.height = height
        self.alphabet = alphabet or default_alphabet(self.split.charset)
        self.codec = Codec(self.alphabet)
        unknown = sorted(set().union(*(self.codec.unknown(t) for t in self.split.labels)))
        if unknown:
            raise ConfigError(
                f"{self.split.path}: {len(unknown)} character(s) of its labels are not in the "
                f"run's alphabet: {''.join(unknown[:40])!r}"
            )
        self.targets = [self.codec.encode(label) for label in self.split.labels]
        self.size = (height, 0)  # width 0: it varies, and each batch pads to its widest
        self.face_names = self.split.sources
        self.codepoints = np.zeros(len(self.targets), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.targets)

    def get_batch(self, indices: np.ndarray, seed: int | None = None) -> dict[str, torch.Tensor]:
        """Images (B×1×H×W, padded), their own widths, and the labels' class indices
        concatenated (``target``) with each label's length (``target_length``)."""
        images = self.split.images([int(i) for i in indices], self.height)
        return line_batch(images, [self.targets[int(i)] for i in indices])


def line_batch(images: list[np.ndarray], targets: list[list[int]] | None = None) -> dict:
    """A batch of H×W uint8 ink images of one height, padded with paper to a common
    width; with ``targets``, their concatenation and lengths."""
    height = images[0].shape[0]
    widths = [max(image.shape[1], WIDTH_FACTOR) for image in images]
    padded = math.ceil(max(widths) / WIDTH_FACTOR) * WIDTH_FACTOR
    batch = np.zeros((len(images), 1, height, padded), dtype=np.uint8)
    for k, image in enumerate(images):
        batch[k, 0, :, : image.shape[1]] = image
    out = {
        "image": torch.from_numpy(batch).float().div_(127.5).sub_(1.0),
        "width": torch.tensor(widths, dtype=torch.int64),
    }
    if targets is not None:
        out["target"] = torch.tensor([k for t in targets for k in t], dtype=torch.int64)
        out["target_length"] = torch.tensor([len(t) for t in targets], dtype=torch.int64)
    return out


# ------------------------------------------------------------------------------ network


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ConvSequence(nn.Module):
    """1-D convolutions over the columns (residual, kernel 5): a faster stand-in for the
    LSTM on CPU."""

    def __init__(self, features: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.project = nn.Conv1d(features, hidden, 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(hidden, hidden, 5, 1, 2, bias=False), nn.BatchNorm1d(hidden))
            for _ in range(layers)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """B×T×F → B×T×hidden."""
        h = self.project(x.transpose(1, 2))
        for block in self.blocks:
            h = F.relu(h + block(h))
        return h.transpose(1, 2)


class LSTMSequence(nn.Module):
    """A bidirectional LSTM that reads each line up to its own length."""

    def __init__(self, features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            features,
            hidden,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """B×T×F → B×T×2·hidden (zeros past each line's length)."""
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


class CRNNNet(nn.Module):
    """Convolutions → sequence model → per-column class scores (B×1×H×W → B×T×C)."""

    def __init__(self, config: CRNNConfig, classes: int) -> None:
        super().__init__()
        c = config.channels
        self.features = nn.Sequential(
            *_conv(1, c),
            nn.MaxPool2d(2),
            *_conv(c, 2 * c),
            nn.MaxPool2d(2),
            *_conv(2 * c, 4 * c),
            *_conv(4 * c, 4 * c),
            nn.MaxPool2d((2, 1)),
            *_conv(4 * c, 8 * c),
            nn.MaxPool2d((2, 1)),
        )
        width = 8 * c * (config.height // HEIGHT_FACTOR)
        self.drop = nn.Dropout(config.dropout)
        if config.sequence == "lstm":
            self.sequence: nn.Module = LSTMSequence(
                width, config.hidden, config.layers, config.dropout
            )
            out = 2 * config.hidden
        else:
            self.sequence = ConvSequence(width, config.hidden, config.layers)
            out = config.hidden
        self.head = nn.Linear(out, classes)

    def forward(
        self, images: torch.Tensor, widths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (B×T×C) and each line's number of columns (B)."""
        f = self.features(images)
        b, c, h, t = f.shape
        f = f.permute(0, 3, 1, 2).reshape(b, t, c * h)
        lengths = column_lengths(widths.to(f.device), t)
        h = self.sequence(self.drop(f), lengths)
        return self.head(self.drop(h)), lengths


# ------------------------------------------------------------------------------ model


class CRNN(Model):
    """The CRNN as a model the trainer trains (what `hangulgan train crnn` is for:
    ``CRNNConfig.command_help``)."""

    name = "crnn"
    config_class = CRNNConfig
    data_config_class = CRNNDataConfig
    samples_need_data = True  # its grid shows training lines

    def __init__(self, config: CRNNConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        config.validate()
        if not config.alphabet:
            raise ConfigError("the crnn model needs an alphabet (it is read from --data)")
        self.config: CRNNConfig = config
        self.codec = Codec(config.alphabet)
        self.net = CRNNNet(config, self.codec.classes)
        self.networks = {"crnn": self.net}
        if config.channels_last:
            self.memory_format = torch.channels_last
            self.net.to(memory_format=self.memory_format)  # later moves keep the layout

    @classmethod
    def make_dataset(cls, data: CRNNDataConfig, config: ModelConfig) -> LineDataset:
        """The split of the export that ``data`` names. A config without an alphabet gets
        the export's here (:func:`default_alphabet`), so that the run saves it."""
        assert isinstance(config, CRNNConfig)
        dataset = LineDataset(data, config.height, config.alphabet or None)
        if not config.alphabet:
            config.alphabet = dataset.alphabet
        return dataset

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """AdamW over the network."""
        cfg = self.config
        return {
            "crnn": torch.optim.AdamW(
                self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
            )
        }

    def learning_rate(self, step: int) -> float:
        """The rate at ``step``: a function of the step alone, so a resumed run matches."""
        return cosine_rate(self.config.lr, self.config.lr_decay_steps, step)

    def training_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """CTC loss of the batch; returns it and the batch's character error rate as read
        by greedy decoding (in training mode: dropout on)."""
        images = batch["image"].to(self.device, non_blocking=True)
        images = images.contiguous(memory_format=self.memory_format)
        targets = batch["target"].to(self.device)
        target_lengths = batch["target_length"].to(self.device)
        set_rate(self.optimizers["crnn"], self.learning_rate(step))
        logits, lengths = self.net(images, batch["width"])
        log_probs = F.log_softmax(logits.float(), dim=2)
        # zero_infinity: a label longer than its image has columns for gives no gradient
        # rather than an infinite loss
        loss = F.ctc_loss(
            log_probs.transpose(0, 1),
            targets,
            lengths.to(self.device),
            target_lengths,
            blank=BLANK,
            reduction="mean",
            zero_infinity=True,
        )
        self.zero_grad(self.optimizers.values())
        loss.backward()
        if self.config.clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.clip)
        self.optimizer_step("crnn")
        read = greedy_decode(log_probs.detach(), lengths)
        errors = chars = 0
        start = 0
        for got, n in zip(read, target_lengths.tolist(), strict=True):
            errors += edit_distance(targets[start : start + n].tolist(), got)
            chars += n
            start += n
        cer = torch.tensor(errors / max(chars, 1))
        return {"ctc": loss.detach(), "cer": cer}

    # ---------------------------------------------------------------------------- reading
    @torch.no_grad()
    def read(self, batch: dict[str, torch.Tensor], net: nn.Module | None = None) -> list[str]:
        """The text of each image of ``batch`` (``image`` and ``width``), greedy decoding."""
        net = net or self.net
        was_training = net.training
        net.eval()
        try:
            images = batch["image"].to(self.device).contiguous(memory_format=self.memory_format)
            logits, lengths = net(images, batch["width"])
        finally:
            net.train(was_training)
        return [self.codec.decode(k) for k in greedy_decode(logits.float(), lengths)]

    def grid_inputs(
        self, n: int, generator: torch.Generator, real: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """The grid shows training lines, since a recognizer draws nothing."""
        if real is None:
            raise ConfigError("the crnn model's grid needs a batch of its training lines")
        n = min(n, 16)
        return {"image": real["image"][:n]}

    @torch.no_grad()
    def generate(
        self, inputs: dict[str, torch.Tensor], networks: dict[str, nn.Module] | None = None
    ) -> torch.Tensor:
        """The input lines themselves (a recognizer's grid is what it learns from)."""
        return inputs["image"].float().cpu()
