"""The Tuner's `tuner_fn`: a KerasTuner search over the spec's `tuning.space`.

TFX's Tuner runs `tuner.search()` and writes the best trial's hyperparameters, which the Trainer
receives (`fn_args.hyperparameters`, applied by `modules.trainer.with_tuned_hyperparameters`).
Each trial builds the registry's model with the trial's values over the spec's hparams, compiles
and fits it exactly as the Trainer would (`train_model`, `epochs_per_trial` epochs) and scores it by
the last logged value of `tuning.objective`. The tuner is KerasTuner's framework-free `BaseTuner`,
so the models stay on this project's Keras 2 (`tf_keras`); KerasTuner's own Keras-model tuners
would build Keras 3 models.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import keras_tuner as kt
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx.components.tuner.component import TunerFnResult

from modules.spec_sections import TUNING_KEY, TuningConfig
from modules.trainer import TrainerInputs, train_model, trainer_inputs, with_tuned_hyperparameters

logger = logging.getLogger(__name__)


def search_space(tuning: TuningConfig) -> kt.HyperParameters:
    space = kt.HyperParameters()
    for name, dimension in tuning.space.items():
        if dimension.kind == "choice":
            space.Choice(name, dimension.values)
        elif dimension.kind == "int":
            space.Int(name, int(dimension.min), int(dimension.max), step=int(dimension.step or 1),
                      sampling="log" if dimension.log else "linear")
        else:
            space.Float(name, dimension.min, dimension.max, step=dimension.step,
                        sampling="log" if dimension.log else "linear")
    return space


def oracle(tuning: TuningConfig) -> kt.Oracle:
    objective = kt.Objective(tuning.objective, tuning.direction)
    space = search_space(tuning)
    if tuning.algorithm == "hyperband":
        return kt.oracles.HyperbandOracle(objective=objective, max_epochs=tuning.epochs_per_trial,
                                          hyperparameters=space, seed=tuning.seed)
    if tuning.algorithm == "bayesian":
        return kt.oracles.BayesianOptimizationOracle(objective=objective, max_trials=tuning.trials,
                                                     hyperparameters=space, seed=tuning.seed)
    return kt.oracles.RandomSearchOracle(objective=objective, max_trials=tuning.trials,
                                         hyperparameters=space, seed=tuning.seed)


class CourseTuner(kt.engine.base_tuner.BaseTuner):
    """Trains the course model once per trial, the Trainer's way, and reports the objective."""

    def __init__(self, inputs: TrainerInputs, tuning: TuningConfig, **kwargs: Any) -> None:
        super().__init__(oracle=oracle(tuning), **kwargs)
        self.inputs = inputs
        self.tuning = tuning

    def run_trial(self, trial: kt.engine.trial.Trial, **_: Any) -> dict[str, float]:
        values = trial.hyperparameters.values
        epochs = int(values.get("tuner/epochs", self.tuning.epochs_per_trial))
        inputs = with_tuned_hyperparameters(self.inputs, {"values": values})
        training = inputs.training.model_copy(update={"epochs": epochs, "steps": None, "validation_freq": 1,
                                                      "warm_start": False, "checkpoint": None})
        trained = train_model(inputs.model, training, inputs.train, inputs.eval,
                              os.path.join(self.project_dir, f"trial_{trial.trial_id}"))
        logged = trained.history.values.get(self.tuning.objective)
        if not logged:
            raise ValueError(f"tuning.objective {self.tuning.objective!r} was not logged; the trial logged: "
                             f"{', '.join(sorted(trained.history.values))}")
        score = logged[-1][1]
        logger.info("trial %s: %s -> %s %.4f", trial.trial_id, values, self.tuning.objective, score)
        return {self.tuning.objective: score}


def tuner_fn(fn_args: FnArgs) -> TunerFnResult:
    """TFX Tuner entry point (`tuner_fn='modules.tuning.tuner_fn'`)."""
    tuning = TuningConfig.model_validate(fn_args.custom_config[TUNING_KEY])
    tuner = CourseTuner(trainer_inputs(fn_args), tuning, directory=fn_args.working_dir, project_name="search",
                        overwrite=True)
    return TunerFnResult(tuner=tuner, fit_kwargs={})
