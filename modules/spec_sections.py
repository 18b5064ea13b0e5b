"""The parts of a pipeline spec that run inside Transform and Trainer.

They live here, not in `pipelines/`, because the modules receive them through TFX's
`custom_config` as plain dicts and re-validate them with these same models; `pipelines.spec.pipeline_spec`
composes them into the whole `PipelineSpec`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator


class StrictModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """Dumps with the keys a spec file uses (`validation.schema`), so a dump parses back."""
        kwargs.setdefault("by_alias", True)
        return super().model_dump(**kwargs)


class Fillable(StrictModel):
    """A transform of a feature that may be missing from an example (a CSV column with `missing: keep`)."""

    fill: float | int | str | None = Field(
        None,
        description="the value a missing feature takes before the transform (TFX's taxi example's "
        "_fill_in_missing); without it the feature must be in every example",
    )


class ZScore(Fillable):
    """(x - mean) / std over the training split (`tft.scale_to_z_score`)."""

    kind: Literal["zscore"] = "zscore"


class ScaleTo01(Fillable):
    """Min-max scaling to [0, 1] fitted on the training split (`tft.scale_to_0_1`)."""

    kind: Literal["scale_to_0_1"] = "scale_to_0_1"


class Categorical(Fillable):
    """A category (string or integer) to its id in a vocabulary computed on the training split
    (`tft.compute_and_apply_vocabulary`): the `top_k` most frequent values get ids 0..k-1, any other
    value (unseen in training) one of `oov_buckets` ids after them; then one-hot or the id for an Embedding."""

    kind: Literal["categorical"] = "categorical"
    top_k: PositiveInt = 100
    oov_buckets: PositiveInt = 1
    output: Literal["one_hot", "ids"] = "one_hot"

    @property
    def depth(self) -> int:
        return self.top_k + self.oov_buckets


class Bucketize(Fillable):
    """A number to one of `num_buckets` quantile buckets computed on the training split (`tft.bucketize`),
    then one-hot or the bucket id."""

    kind: Literal["bucketize"] = "bucketize"
    num_buckets: Annotated[int, Field(ge=2)]
    output: Literal["one_hot", "ids"] = "one_hot"


class Divide(StrictModel):
    """Division by a constant, as the course scales pixels (`x / 255`)."""

    kind: Literal["divide"] = "divide"
    divisor: PositiveFloat


class Rescale(StrictModel):
    """`x * scale + offset`, Keras' `Rescaling(scale, offset)`: pixels to [-1, 1] is
    `{scale: 0.00784313725490196, offset: -1}` (the course's `2 * x / 255 - 1`)."""

    kind: Literal["rescale"] = "rescale"
    scale: float
    offset: float = 0.0


class OneHot(StrictModel):
    """One-hot encoding of an integer category in [0, depth)."""

    kind: Literal["one_hot"] = "one_hot"
    depth: Annotated[int, Field(ge=2)]


class Pad(StrictModel):
    """Pad or truncate a variable-length integer sequence to `length` (Keras `pad_sequences`).

    With `num_words`, ids of `num_words` and above become `oov_id`, as Keras'
    `imdb.load_data(num_words=...)` does (its `oov_char` is 2).
    """

    kind: Literal["pad"] = "pad"
    length: PositiveInt
    padding: Literal["pre", "post"] = "pre"
    truncating: Literal["pre", "post"] = "pre"
    value: int = 0
    num_words: PositiveInt | None = None
    oov_id: NonNegativeInt = 2


class Vocabulary(StrictModel):
    """Raw text to `length` word ids: lower-case, split into words, `tft.compute_and_apply_vocabulary`
    over the training split keeping the most frequent words, then padded/truncated as `Pad`.

    Ids: 0 pads, 1 .. vocab_size - 2 are the kept words by frequency, vocab_size - 1 is any other
    word; so an `Embedding(vocab_size, ...)` takes them.
    """

    kind: Literal["vocabulary"] = "vocabulary"
    vocab_size: Annotated[int, Field(ge=3)]
    length: PositiveInt
    padding: Literal["pre", "post"] = "pre"
    truncating: Literal["pre", "post"] = "pre"


class Ids(StrictModel):
    """Integer ids passed through as int64 (for an Embedding), not cast to floats."""

    kind: Literal["ids"] = "ids"


class Identity(Fillable):
    """Pass the feature through unchanged (cast to float32)."""

    kind: Literal["identity"] = "identity"


DatePart = Literal["year", "month", "day", "day_of_year", "weekday", "hour"]
# Periods of the cyclic parts: each becomes (sin, cos) of its phase, so December sits beside
# January and Sunday beside Monday; the year is a z-score (it does not come round again).
DATE_PERIODS: dict[str, float] = {"month": 12, "day": 31, "day_of_year": 365.25, "weekday": 7, "hour": 24}


class Date(Fillable):
    """A date (a `kind: date` column, stored `YYYY-MM-DDTHH:MM:SS`) to numbers a model can use: the
    year as a z-score over the training split, and each other part (month, day of the month, day
    of the year, weekday Monday..Sunday, hour with its minutes) as the sine and cosine of where it
    stands in its cycle."""

    kind: Literal["date"] = "date"
    parts: list[DatePart] = Field(
        default_factory=lambda: ["year", "month", "day_of_year", "weekday"],
        min_length=1, description="which parts of the date the model reads: year, month, day, day_of_year, weekday, hour",
    )

    @model_validator(mode="after")
    def _each_part_once(self) -> Date:
        twice = sorted({part for part in self.parts if self.parts.count(part) > 1})
        if twice:
            raise ValueError(f"parts: {', '.join(twice)} listed twice; expected each part once")
        return self

    @property
    def width(self) -> int:
        return sum(1 if part == "year" else 2 for part in self.parts)


FeatureTransform = Annotated[
    ZScore | ScaleTo01 | Divide | Rescale | OneHot | Pad | Vocabulary | Ids | Identity | Categorical | Bucketize | Date,
    Field(discriminator="kind"),
]


def output_width(transform: FeatureTransform, input_width: int) -> int:
    """Width of the transformed feature given the raw feature's fixed width."""
    if isinstance(transform, OneHot):
        return transform.depth
    if isinstance(transform, (Pad, Vocabulary)):
        return transform.length
    if isinstance(transform, Categorical):
        return transform.depth if transform.output == "one_hot" else 1
    if isinstance(transform, Bucketize):
        return transform.num_buckets if transform.output == "one_hot" else 1
    if isinstance(transform, Date):
        return transform.width
    return input_width


class ScaleLike(StrictModel):
    """A numeric label scaled to [0, 1] with the min and max of the input `feature` over the
    training split: the course's MinMaxScaler, fitted on the training prices and applied to inputs
    and targets alike. The exported model scales its predictions back, so the Evaluator and
    serving clients see the label's own units (prices)."""

    kind: Literal["scale_like"] = "scale_like"
    feature: str


class TransformConfig(StrictModel):
    """Per raw feature, how Transform turns it into a model input; the label is never transformed.

    The model reads exactly the features listed here, in this order.
    """

    features: dict[str, FeatureTransform]
    label: Annotated[OneHot | ScaleLike, Field(discriminator="kind")] | None = Field(
        None,
        description="a target for training only (one_hot: the course's tf.one_hot(y, depth); "
        "scale_like: min-max scaled as an input feature); the Evaluator and serving clients "
        "still see the raw label",
    )
    statistics: bool = Field(
        False,
        description="also compute Transform's pre- and post-transform statistics and anomalies "
        "(TFX's default); off, the raw splits' statistics are StatisticsGen's and Transform skips "
        "two Beam passes",
    )
    materialize: bool = Field(
        False,
        description="also write the transformed examples (TFX's default); off, Transform only "
        "analyzes, and the Trainer (and Tuner) apply its graph to the raw examples as they read them",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        """Allow `feature: zscore` as a shorthand for `feature: {kind: zscore}`."""
        if isinstance(data, dict) and isinstance(data.get("features"), dict):
            data = dict(data)
            data["features"] = {
                name: {"kind": value} if isinstance(value, str) else value
                for name, value in data["features"].items()
            }
        return data


class ModelConfig(StrictModel):
    """A model from the registry, or `package.module:function` naming a user's own builder."""

    name: str
    hparams: dict[str, Any] = Field(default_factory=dict)


class OptimizerConfig(StrictModel):
    name: Literal["sgd", "adam", "rmsprop", "adagrad"]
    learning_rate: PositiveFloat
    beta_1: float | None = Field(None, gt=0.0, lt=1.0, description="adam only: the first moment's decay (GANs use 0.5)")

    @model_validator(mode="after")
    def _beta_for_adam(self) -> OptimizerConfig:
        if self.beta_1 is not None and self.name != "adam":
            raise ValueError(f"beta_1 is Adam's; optimizer {self.name!r} has none")
        return self


LossName = Literal[
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
]


class ProfitLoss(StrictModel):
    """004 M5's asymmetric loss: sum over the batch of COST per unit over-predicted and PROFIT
    per unit under-predicted (`tf.reduce_sum(tf.where(y > y_, (y - y_) * COST, (y_ - y) * PROFIT))`)."""

    name: Literal["profit"] = "profit"
    cost: PositiveFloat
    profit: PositiveFloat


TrainingStyle = Literal["fit", "gradient_tape", "gan", "wgan_gp"]
# Styles that train a generator and a discriminator by the course's alternating loop (Keras fit).
GAN_STYLES = ("gan", "wgan_gp")


class AcceleratorConfig(StrictModel):
    """How the Trainer uses the machine's accelerators; the defaults suit a laptop and a GPU node.

    Training is mirrored over every GPU TensorFlow sees (`tf.distribute.MirroredStrategy`); with no
    GPU it runs on the default device. Mixed precision and XLA are opt-in: both change numerics
    (float16 activations, fused kernels) and pay off on GPUs, not on CPUs.
    """

    mixed_precision: bool = Field(
        False, description="Keras 'mixed_float16' policy; the model's outputs stay float32"
    )
    xla: bool = Field(False, description="compile the training step with XLA (jit_compile=True)")


class CheckpointConfig(StrictModel):
    """The course's `ModelCheckpoint(save_weights_only=True, save_best_only=True)`, written into the
    Trainer's model_run_dir (`checkpoints/best`)."""

    monitor: str = Field("val_loss", description="the logged metric that decides the best epoch")
    export: Literal["last", "best"] = Field(
        "last",
        description="last: export the weights after the last epoch (as the course's figures are); "
        "best: reload the best checkpoint before exporting",
    )


class TrainingConfig(StrictModel):
    """How the Trainer fits the model: the course's `compile`/`fit` arguments.

    Exactly one of `epochs` (passes over the training split, as the course counts) or `steps`
    (batches, as TFX's `train_args` counts) is given.
    """

    batch_size: PositiveInt = 32
    epochs: PositiveInt | None = None
    steps: PositiveInt | None = None
    optimizer: OptimizerConfig
    loss: LossName | ProfitLoss | None = Field(None, description="required but for gan / wgan_gp, whose style is the loss")
    from_logits: bool = False
    style: TrainingStyle = Field(
        "fit",
        description="fit: Keras compile/fit; gradient_tape: the course's hand-written loop, "
        "w.assign_sub(learning_rate * grad) per batch (needs optimizer sgd); gan / wgan_gp: a "
        "generator and a discriminator in the course's alternating loop, with sigmoid cross-entropy "
        "or the Wasserstein critic loss plus the gradient penalty (model dcgan)",
    )
    gradient_penalty: PositiveFloat = Field(10.0, description="wgan_gp: lambda, the gradient penalty's weight")
    sample_every: PositiveInt | None = Field(
        None, description="gan / wgan_gp: write a grid of generated samples every N batches (and always the last)")
    report_weights: bool = Field(False, description="log the learned weights (the yogurt models)")
    target: Literal["label", "input"] = Field(
        "label",
        description="label: supervised; input: the model learns to reconstruct its own input "
        "(autoencoders), and the exported model also returns each example's reconstruction_loss",
    )
    metrics: list[str] = Field(default_factory=list)
    validation_freq: PositiveInt = 1
    seed: int | None = None
    accelerator: AcceleratorConfig = AcceleratorConfig()
    warm_start: bool = Field(
        False,
        description="start from the latest blessed model's weights when the architecture matches "
        "(otherwise train from scratch and say why)",
    )
    checkpoint: CheckpointConfig | None = Field(
        None, description="keep the best weights as the course's CIFAR models do (style fit only)"
    )

    @model_validator(mode="after")
    def _epochs_xor_steps(self) -> TrainingConfig:
        if (self.epochs is None) == (self.steps is None):
            raise ValueError("give exactly one of 'epochs' or 'steps'")
        if self.style == "gradient_tape" and self.optimizer.name != "sgd":
            raise ValueError(
                "style gradient_tape updates w -= learning_rate * grad as the course does; "
                f"expected optimizer sgd, got {self.optimizer.name!r}"
            )
        if (self.loss is None) != (self.style in GAN_STYLES):
            raise ValueError(f"loss: expected none for style {self.style} (the style is the loss)"
                             if self.loss is not None else "loss: required (field required)")
        if self.style != "fit" and self.checkpoint is not None:
            raise ValueError("checkpoint needs style fit (Keras' ModelCheckpoint callback)")
        if self.style == "gradient_tape" and (self.accelerator.mixed_precision or self.accelerator.xla):
            raise ValueError("accelerator mixed_precision/xla need a Keras-compiled style (fit, gan, wgan_gp)")
        if self.style not in GAN_STYLES and self.sample_every is not None:
            raise ValueError("sample_every is for the styles gan and wgan_gp")
        return self


LEARNING_RATE = "learning_rate"  # a tuning dimension beside the model's hyperparameters
TUNING_KEY = "tuning"  # in the Tuner's custom_config: the Trainer's, plus the spec's tuning section


def searched_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A KerasTuner trial's values without the tuner's own bookkeeping (`tuner/epochs`, ...)."""
    return {name: value for name, value in values.items() if not name.startswith("tuner/")}


class SearchDimension(StrictModel):
    """One hyperparameter's search space: `choice` of values, or an `int` / `float` range."""

    kind: Literal["choice", "int", "float"]
    values: list[int | float | str] = Field(default_factory=list, description="choice: the candidates")
    min: float | None = None
    max: float | None = None
    step: float | None = Field(None, description="int: the step between candidates")
    log: bool = Field(False, description="sample the range on a log scale (learning rates)")

    @model_validator(mode="after")
    def _complete(self) -> SearchDimension:
        if self.kind == "choice" and not self.values:
            raise ValueError("kind choice: expected values: [candidate, ...]")
        if self.kind != "choice" and (self.min is None or self.max is None or not self.min < self.max):
            raise ValueError(f"kind {self.kind}: expected min < max")
        if self.log and self.kind != "choice" and self.min is not None and self.min <= 0:
            raise ValueError("log sampling needs min > 0")
        return self


class TuningConfig(StrictModel):
    """A KerasTuner search before training: TFX's Tuner step; the Trainer trains with the winner."""

    algorithm: Literal["random", "bayesian", "hyperband"] = "random"
    objective: str = Field("val_loss", description="a metric the Trainer logs: loss, val_loss, val_<metric>")
    direction: Literal["min", "max"] = "min"
    trials: PositiveInt = Field(5, description="random and bayesian: how many hyperparameter sets to train")
    epochs_per_trial: PositiveInt = Field(5, description="epochs of each trial (hyperband: the most)")
    seed: int | None = None
    space: dict[str, SearchDimension] = Field(
        description=f"the model's hyperparameters (model.hparams keys) and '{LEARNING_RATE}' to search over"
    )
