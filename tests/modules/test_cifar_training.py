"""Every CIFAR spec's model trains a couple of steps through the Trainer's own `train_model`, on
CIFAR-format files the test writes (pickled batches, read back by the cifar10/cifar100 sources):
the spec's optimizer, loss, batch-norm and checkpoint settings, with the files it leaves behind."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.splits import EVAL_SPLIT, TRAIN_SPLIT
from modules.pretrained import MODEL_WEIGHTS
from modules.spec_sections import TrainingConfig
from modules.trainer import CHECKPOINT_DIR, TRAINING_STATS_FILE, train_model
from pipelines.spec.pipeline_spec import PipelineSpec, load_spec, spec_ids
from tests.components.formats import read_records, write_cifar10, write_cifar100

# The course's CIFAR networks trained from scratch; the transfer-learning ones read pretrained
# weights and keep no checkpoint (tests/modules/test_transfer.py and test_transfer_e2e.py train them).
CIFAR_SPECS = [spec_id for spec_id in spec_ids()
               if spec_id.startswith("cifar") and load_spec(spec_id).model.name not in MODEL_WEIGHTS]
BATCH = 4


@pytest.fixture(scope="module")
def cifar_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root / "cifar10", per_batch=2)
    write_cifar100(root / "cifar100")
    return {"cifar10": root / "cifar10", "cifar100": root / "cifar100"}


def _datasets(spec: PipelineSpec, data_dir) -> dict[str, tf.data.Dataset]:
    """x / 255 as the specs' Transform does; one-hot targets where the spec asks for them."""
    records = read_records(spec.data.source, data_dir)
    datasets = {}
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        x = np.stack([r["image"] for r in records[split]]).astype("float32") / 255.0
        y = np.array([r["label"] for r in records[split]])
        if spec.transform.label is not None:
            y = keras.utils.to_categorical(y, spec.transform.label.depth)
        datasets[split] = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    return datasets


def _few_steps(training: TrainingConfig, **updates) -> TrainingConfig:
    data = {**training.model_dump(mode="json"), "epochs": None, "steps": 2, "batch_size": BATCH, **updates}
    return TrainingConfig.model_validate(data)


def _train(spec_id: str, cifar_dirs, tmp_path, repeat: bool = True, **updates):
    """The spec's model through `train_model` for 2 steps (or the epochs `updates` give)."""
    spec = load_spec(spec_id)
    datasets = _datasets(spec, cifar_dirs[spec.data.source])
    training = _few_steps(spec.training, **updates)
    train = datasets[TRAIN_SPLIT].repeat() if repeat else datasets[TRAIN_SPLIT]
    return train_model(spec.model, training, train, datasets[EVAL_SPLIT], str(tmp_path), steps=training.steps), datasets


@pytest.mark.parametrize("spec_id", CIFAR_SPECS)
def test_each_cifar_model_trains_two_steps_on_cifar_files(spec_id, cifar_dirs, tmp_path):
    spec = load_spec(spec_id)
    trained, _ = _train(spec_id, cifar_dirs, tmp_path)

    width = spec.transform.label.depth if spec.transform.label else 10
    # Called, not `output_shape`: the MyDense network is a subclassed model, which has none.
    assert trained.model(np.zeros((1, *spec.model.hparams["input_shape"]), "float32")).shape == (1, width)
    assert "val_loss" in trained.history.values  # validated, so the checkpoint had a val_loss to watch
    assert os.path.exists(tmp_path / CHECKPOINT_DIR / "best.index")
    stats = json.loads((tmp_path / TRAINING_STATS_FILE).read_text())
    assert stats["model"] == spec_id and stats["precision_policy"] == "float32"
    assert stats["examples_per_second"] > 0 and stats["peak_rss_mb"] > 0


def test_mixed_precision_keeps_float32_outputs_and_restores_the_policy(cifar_dirs, tmp_path):
    trained, datasets = _train("cifar10_lenet5", cifar_dirs, tmp_path, accelerator={"mixed_precision": True})

    assert keras.mixed_precision.global_policy().name == "float32"  # later components unaffected
    assert any(layer.dtype_policy.name == "mixed_float16" for layer in trained.model.layers)
    outputs = trained.model.predict(datasets[EVAL_SPLIT], verbose=0)
    assert outputs.dtype == np.float32 and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3)
    assert trained.stats["precision_policy"] == "mixed_float16"


def test_xla_compiles_the_training_step(cifar_dirs, tmp_path):
    trained, _ = _train("cifar10_baseline", cifar_dirs, tmp_path, accelerator={"xla": True})

    assert trained.model._jit_compile is True and trained.stats["xla"] is True
    assert np.isfinite(trained.history.values["loss"][-1][1])


def test_best_checkpoint_is_exported_when_the_spec_asks(cifar_dirs, tmp_path):
    """export: best reloads the checkpoint's weights: after the run they equal the saved ones."""
    trained, _ = _train("cifar10_lenet5", cifar_dirs, tmp_path, repeat=False, epochs=3, steps=None,
                        checkpoint={"monitor": "val_loss", "export": "best"})

    reader = tf.train.load_checkpoint(str(tmp_path / CHECKPOINT_DIR / "best"))
    kernel_key = next(k for k in reader.get_variable_to_shape_map() if "layer_with_weights-0/kernel" in k
                      and "OPTIMIZER" not in k)
    np.testing.assert_array_equal(reader.get_tensor(kernel_key), trained.model.layers[1].kernel.numpy())
    val_losses = [v for _, v in trained.history.values["val_loss"]]
    assert len(val_losses) == 3
