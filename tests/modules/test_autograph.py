"""AutoGraph leaves tf_keras's and tf.Transform's code alone (as TF does for `keras`) and still converts ours."""
from __future__ import annotations

import tensorflow_transform as tft
import tf_keras as keras
from tensorflow.python.autograph.impl import conversion

import modules.fitting  # noqa: F401  (importing the training module applies the rule)
from modules.autograph import skip_library_conversion
from modules.fitting import compile_model


def test_keras_internals_are_not_converted_and_project_code_still_is():
    assert conversion.is_allowlisted(keras.Model.train_step)
    assert conversion.is_allowlisted(keras.layers.Dense.call)
    assert conversion.is_allowlisted(tft.scale_to_z_score)
    assert conversion.is_allowlisted(tft.TFTransformOutput.transform_features_layer)
    assert not conversion.is_allowlisted(compile_model)


def test_the_rule_is_added_once():
    from tensorflow.python.autograph.core import config

    before = len(config.CONVERSION_RULES)
    assert skip_library_conversion() and skip_library_conversion()
    assert len(config.CONVERSION_RULES) == before
