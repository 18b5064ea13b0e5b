"""A user's own model builder, named in a spec as `tests.modules.user_models:tiny`."""
import tf_keras as keras


def tiny(hparams) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=hparams.input_shape), keras.layers.Dense(hparams.units, activation="softmax")]
    )
