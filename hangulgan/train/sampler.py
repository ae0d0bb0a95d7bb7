"""The order in which a run sees its data: shuffled epochs as one stream, each step's batch
drawn under its own seed, in the training process or in DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from hangulgan.errors import CheckpointError, ConfigError
from hangulgan.train.contract import TrainingData
from hangulgan.train.device import mix_seed


class EpochSampler:
    """Shuffled epochs as one endless stream; each step takes the next global batch.

    A batch may span an epoch boundary (so a dataset smaller than a batch still works).
    Rank ``r`` of ``w`` takes the ``r``-th of ``w`` equal slices of every global batch.
    The permutation of epoch ``e`` depends only on ``(seed, e)``; ``state()`` is the
    position, so a resumed run continues the same order.
    """

    def __init__(self, size: int, batch: int, seed: int, rank: int = 0, world_size: int = 1):
        if size < 1:
            raise ConfigError("the dataset is empty")
        if batch % world_size:
            raise ConfigError(f"--batch {batch}: must be a multiple of the {world_size} processes")
        self.size, self.batch, self.seed = size, batch, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._cached: tuple[int, np.ndarray] | None = None

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != epoch:
            generator = torch.Generator().manual_seed(mix_seed(self.seed, 0x5A3F, epoch))
            self._cached = (epoch, torch.randperm(self.size, generator=generator).numpy())
        return self._cached[1]

    def next_indices(self) -> np.ndarray:
        """This rank's indices for the next step."""
        parts, need = [], self.batch
        if not 0 <= self.position < self.size:  # load_state refuses it; never loop on one
            raise ValueError(f"data position {self.position} outside 0..{self.size - 1}")
        while need:
            perm = self._permutation(self.epoch)
            take = perm[self.position : self.position + need]
            parts.append(take)
            need -= len(take)
            self.position += len(take)
            if self.position == self.size:
                self.epoch, self.position = self.epoch + 1, 0
        batch = parts[0] if len(parts) == 1 else np.concatenate(parts)
        share = self.batch // self.world_size
        return batch[self.rank * share : (self.rank + 1) * share]

    @property
    def epochs_done(self) -> float:
        """Epochs consumed so far (fractional)."""
        return self.epoch + self.position / self.size

    def state(self) -> dict[str, int]:
        """Position in the stream, for checkpoints."""
        return {"epoch": self.epoch, "position": self.position, "size": self.size}

    def checked_state(self, state: dict[str, int], where: object) -> tuple[int, int]:
        """(epoch, position) of a saved :meth:`state`, or CheckpointError naming ``where``
        (the checkpoint) when it is of another dataset size or out of range: a position
        past the dataset would make :meth:`next_indices` loop without end."""
        size = state.get("size", self.size)
        if size != self.size:
            raise CheckpointError(
                f"{where}: the dataset now holds {self.size} glyphs, the run was trained on "
                f"{size}: the corpus or the selection changed"
            )
        epoch, position = state.get("epoch"), state.get("position")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (epoch, position)):
            raise CheckpointError(f"{where}: damaged checkpoint metadata (data position)")
        if not (0 <= position < self.size and epoch >= 0):
            raise CheckpointError(
                f"{where}: damaged checkpoint metadata (data position {position} of epoch "
                f"{epoch}, the dataset holds {self.size} glyphs)"
            )
        return epoch, position

    def load_state(self, state: dict[str, int], where: object = "checkpoint") -> None:
        """Continue from a saved position (the dataset must be the same size)."""
        self.epoch, self.position = self.checked_state(state, where)


def batch_seed(seed: int, rank: int, step: int) -> int:
    """The seed a batch of ``step`` is drawn under on ``rank`` (random references, crops)."""
    return mix_seed(seed, rank, step, 0xBA7C)


class StepPlan(torch.utils.data.Sampler):
    """(indices, seed) of each step from ``start`` on, for DataLoader workers.

    ``sampler`` is a copy of the run's sampler: the workers run ahead of the steps taken.
    """

    def __init__(self, sampler: EpochSampler, start: int, stop: int, seed: int, rank: int):
        self.sampler, self.start, self.stop = sampler, start, stop
        self.seed, self.rank = seed, rank

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        for step in range(self.start, self.stop):
            yield self.sampler.next_indices(), batch_seed(self.seed, self.rank, step)


class PlannedBatches(torch.utils.data.Dataset):
    """Calls ``dataset.get_batch`` for a planned step in a worker, seeded like in-process."""

    def __init__(self, dataset: TrainingData) -> None:
        self.dataset = dataset

    def __getitem__(self, plan: tuple[np.ndarray, int]) -> dict[str, torch.Tensor]:
        indices, seed = plan
        torch.manual_seed(seed)
        return self.dataset.get_batch(indices, seed=seed)


def fixed_batch(dataset: TrainingData, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` items of ``dataset`` picked by ``seed`` alone: the real data of a run's grids
    (a translation model's sources, a few-shot model's references), here and in ``sample``.
    Global RNG states are left as they were."""
    n = min(n, len(dataset))
    generator = torch.Generator().manual_seed(mix_seed(seed, 0x6A1E))
    indices = np.sort(torch.randperm(len(dataset), generator=generator)[:n].numpy())
    batch_seed = mix_seed(seed, 0x6A1F)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(batch_seed)
        return dataset.get_batch(indices, seed=batch_seed)
