"""Dataset names resolve lazily to adapter modules; missing or broken adapters give errors naming them."""

from __future__ import annotations

import pytest

from recsys.app.experiments.framework import registry
from recsys.app.experiments.framework.registry import AdapterError, get_adapter, load_adapter_module, registered_adapter
from tests.app.experiments import toy_adapter


def test_the_four_datasets_map_to_their_adapter_modules() -> None:
    assert {name: registry.DATASETS[name].module for name in registry.PUBLIC_DATASETS} == {
        "synthetic": "recsys.app.experiments.synthetic.experiment",
        "amazon-beauty": "recsys.app.experiments.amazon_beauty.experiment",
        "ml-100k": "recsys.app.experiments.ml100k.experiment",
        "brand-influencer": "recsys.app.experiments.brand_influencer.experiment",
    }


def test_demo_adapter_is_built_in() -> None:
    adapter = get_adapter("demo")
    assert adapter.DATASET == "demo"
    assert registry.DATASETS["demo"].module == "recsys.app.experiments.toy"


def test_a_missing_adapter_module_is_named_in_the_error() -> None:
    with pytest.raises(AdapterError, match=r"recsys\.app\.experiments\.not_written_yet.*does not exist"):
        load_adapter_module("future-dataset", "recsys.app.experiments.not_written_yet")


def test_a_module_without_the_adapter_surface_is_rejected() -> None:
    with pytest.raises(AdapterError, match="lacks DATASET, Config, run"):
        load_adapter_module("broken", "recsys.app.experiments.framework.evaluation")


def test_unknown_dataset_lists_the_choices() -> None:
    with pytest.raises(AdapterError, match=r"unknown dataset 'nope'.*ml-100k"):
        get_adapter("nope")


def test_registered_adapter_is_used_and_removed_afterwards() -> None:
    with registered_adapter("toy", toy_adapter):  # type: ignore[arg-type]
        assert get_adapter("toy") is toy_adapter
        assert "toy" in registry.available_datasets()
    assert "toy" not in registry.available_datasets()
    with pytest.raises(AdapterError):
        get_adapter("toy")


def test_register_rejects_an_object_that_is_not_an_adapter() -> None:
    with pytest.raises(AdapterError, match="lacks"):
        registry.register_adapter("bad", object())  # type: ignore[arg-type]
