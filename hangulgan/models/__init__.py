"""Trainable glyph models: the original examples' DCGAN (:mod:`~hangulgan.models.dcgan`)
and the few-shot style-conditioned generator (:mod:`~hangulgan.models.styled`).

A new model is one module for its networks and step, and one torch-free module for its
options (so that ``hangulgan train NAME --help`` never loads torch)::

    # mine_config.py
    @dataclass
    class MyConfig(ModelConfig):           # hangulgan.train.options
        command_help: ClassVar[str] = "What `hangulgan train mine` does."
        lr: float = option(2e-4, "Adam learning rate.")  # becomes --lr, help and default

    # mine.py
    class MyModel(Model):                  # hangulgan.train.contract
        name = "mine"                      # `hangulgan train mine`
        config_class = MyConfig
        data_config_class = MyDataConfig   # its data options (None: the glyph corpus ones)

        @classmethod
        def make_dataset(cls, data, config): ...       # a TrainingData
        def __init__(self, config, info): ...           # self.networks only
        def configure_optimizers(self): ...             # once, after the move to the device
        def training_step(self, batch, step): ...       # self.optimizer_step(name) per step
        def grid_inputs(self, n, generator, real=None): ...
        def generate(self, inputs, networks=None): ...

and one entry in :data:`hangulgan.train.registry.BUILTIN` (another package declares it as
an entry point of the group ``hangulgan.models`` instead). See
:mod:`hangulgan.train.contract` for the whole contract (capabilities, visual sheets, extra
checkpoint state, the TrainingData protocol).

Importing this package imports none of its modules.
"""
