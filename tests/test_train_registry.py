"""The model registry: names to classes, imported only when asked for; families declared on
the model; models of other packages found through entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hangulgan.errors import RunError
from hangulgan.train.registry import (
    BUILTIN,
    GLYPH,
    MODELS,
    TRANSLATION,
    ModelEntry,
    get_model_class,
    model_entry,
    model_names,
    register_model,
)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_entry_says_what_its_class_declares(name):
    entry = model_entry(name)
    cls = get_model_class(name)
    assert cls.name == name
    assert cls.family == entry.family
    assert cls.config_class is entry.config_class
    assert cls.data_config() is entry.data_config_class


def test_families_sort_the_models_between_the_two_training_commands():
    assert model_names(GLYPH) == ["classifier", "crnn", "dcgan", "styled"]  # crnn: 441ef08
    assert model_names(TRANSLATION) == ["autoencoder", "cyclegan", "pix2pix", "ugatit"]
    assert model_names() == sorted(model_names(GLYPH) + model_names(TRANSLATION))


def test_an_unknown_model_is_one_clear_error():
    with pytest.raises(RunError, match=r"unknown model 'nope' \(known: autoencoder, "):
        get_model_class("nope")
    assert "nope" not in MODELS


def test_a_registered_class_hides_and_then_gives_back_a_name(monkeypatch):
    dcgan = get_model_class("dcgan")

    class Other(dcgan):
        pass

    monkeypatch.setitem(MODELS, "dcgan", Other)
    assert get_model_class("dcgan") is Other
    monkeypatch.undo()
    assert get_model_class("dcgan") is dcgan


def test_register_model_adds_a_class_and_del_removes_it():
    dcgan = get_model_class("dcgan")

    class Extra(dcgan):
        name = "extra-dcgan"

    try:
        assert register_model(Extra) is Extra
        assert "extra-dcgan" in model_names(GLYPH)
        assert model_entry("extra-dcgan") == ModelEntry.of_class(Extra)
    finally:
        del MODELS["extra-dcgan"]
    assert "extra-dcgan" not in MODELS


def test_a_model_of_another_package_is_found_by_its_entry_point(tmp_path):
    (tmp_path / "third_model.py").write_text(
        textwrap.dedent(
            """
            from hangulgan.models.dcgan import DCGAN

            class ThirdModel(DCGAN):
                name = "third"
                description = "A model another package ships."
            """
        )
    )
    dist = tmp_path / "third_model-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: third-model\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hangulgan.models]\nthird = third_model:ThirdModel\ndcgan = third_model:ThirdModel\n"
    )
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from hangulgan.train.registry import get_model_class, model_entry, model_names
        assert "third" in model_names("glyph"), model_names()
        assert get_model_class("third").__name__ == "ThirdModel"
        assert model_entry("third").help == "A model another package ships."
        # a package cannot take a built-in model's name
        assert get_model_class("dcgan").__module__ == "hangulgan.models.dcgan"
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
