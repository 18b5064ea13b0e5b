"""Keep AutoGraph out of `tf_keras`'s own code, as TensorFlow keeps it out of `keras`'s.

`tf.function` converts, through AutoGraph, every Python function it calls that is not on
TensorFlow's do-not-convert list. That list names `keras` (Keras 2 as it shipped inside TF) but
not `tf_keras`, the same Keras 2 under its new name, which this package uses. So the first trace
of each Keras train, test and predict function, and of each exported signature, transpiles the
whole of Keras's Python (about 500 functions): 16 s before a 120-row iris model's first epoch
ends here, against 0.4 s with `tf_keras` on the list (benchmarks/first_epoch.py). Keras's code
has no tensor-dependent Python control flow to convert; this project's own code (custom layers,
the gradient-tape loop) is still converted as before.
"""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

KERAS_PACKAGE = "tf_keras"
# tf.Transform's own code runs in TF1 graph mode too, where AutoGraph never applies, so it has no
# tensor-dependent Python control flow either. Exporting a model traces its transform layer
# (`TFTransformOutput.transform_features_layer`): converting TFT's code was 2.5 s of the 3.4 s a
# 15-parameter iris model took to export (cProfile of modules.export.export_serving_model).
TRANSFORM_PACKAGE = "tensorflow_transform"
NOT_CONVERTED = (KERAS_PACKAGE, TRANSFORM_PACKAGE)


def skip_library_conversion() -> bool:
    """Puts `tf_keras` and `tensorflow_transform` on AutoGraph's do-not-convert list (once); False
    when TF's internals that hold the list are not where TF 2.16 keeps them (the pinned version),
    and nothing changed."""
    try:
        from tensorflow.python.autograph.core import config, config_lib
    except ImportError:
        logger.warning("AutoGraph's conversion rules not found; tf_keras stays converted (slow first trace)")
        return False
    for package in NOT_CONVERTED:
        if not any(isinstance(rule, config_lib.DoNotConvert) and rule.matches(package)
                   for rule in config.CONVERSION_RULES):
            config.CONVERSION_RULES = (config_lib.DoNotConvert(package), *config.CONVERSION_RULES)
    return True


def convert_again(package: str) -> None:
    """Takes `package` off the do-not-convert list: TensorFlow's own behaviour, for benchmarks that
    measure what `skip_library_conversion` saves (call it after the modules that add the rules)."""
    from tensorflow.python.autograph.core import config, config_lib

    config.CONVERSION_RULES = tuple(
        rule for rule in config.CONVERSION_RULES
        if not (isinstance(rule, config_lib.DoNotConvert) and rule.matches(package))
    )
