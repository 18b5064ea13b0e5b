"""What runs inside Transform and Trainer: transform building blocks, the model registry, run_fn.

Keras is `tf_keras` (Keras 2) everywhere in this package, on purpose: the course code is Keras 2
style, and TFT 1.16 and TFMA 0.47 build their own layers and metrics with `tf_keras`, so a Keras 3
model could not hold the Transform layer nor be saved with the signatures TFX needs.
"""
