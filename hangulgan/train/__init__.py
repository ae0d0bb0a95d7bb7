"""The shared trainer and the model contract every model follows.

Below the models in the layers: :mod:`~hangulgan.train.options` and
:mod:`~hangulgan.train.contract` (what a model is), :mod:`~hangulgan.train.registry`
(models by name, imported when asked), :mod:`~hangulgan.train.config` (a run's
``config.json``), :mod:`~hangulgan.train.checkpoint` and :mod:`~hangulgan.train.weights`
(files), :mod:`~hangulgan.train.loop` and :mod:`~hangulgan.train.trainer` (training).
Nothing here imports a model, or :mod:`hangulgan.eval` or :mod:`hangulgan.translate`,
except the registry when it is asked for a class.

Importing this package imports none of its modules.
"""
