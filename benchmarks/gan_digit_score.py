"""What a digit classifier trained by this project makes of mnist_dcgan's generated digits.

Runs `coursepipe run mnist_mlp --source mnist_5k` (the classifier, on the same 5,000 real digits)
and `coursepipe run mnist_dcgan`, each into a fresh directory, then classifies 1,000 generated
digits (fixed latents) and the eval split's real digits through the pushed classifier's
`serving_default` and prints, for each, the share of each predicted class, the mean confidence,
the share of pictures classified with probability >= 0.9, and the Inception Score's formula on the
classifier's probabilities (components.sample_quality.classifier_score), plus the Fréchet distance
the pipeline gated on.

    python -m benchmarks.gan_digit_score [--work DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.gan_digit_score")
COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")
GENERATED = 1000


def run_pipeline(args: list[str], output: Path) -> dict:
    done = subprocess.run([COURSEPIPE, "run", *args, "--output", str(output), "--json"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout[done.stdout.index("{"):])


def class_probabilities(classifier_dir: str, pictures: np.ndarray) -> np.ndarray:
    """The pushed MNIST classifier's probabilities for uint8 digits [n, 28, 28]."""
    import tensorflow as tf

    from components.example_encoding import encode_example
    from components.sources.images import MNIST

    serve = tf.saved_model.load(classifier_dir).signatures["serving_default"]
    examples = tf.constant([encode_example({"image": picture}, MNIST) for picture in pictures])
    return serve(examples=examples)["outputs"].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where the two runs go (default: a temporary directory)")
    args = parser.parse_args()
    configure_logging()
    work = args.work or Path(tempfile.mkdtemp(prefix="gan_digit_score_"))

    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    from components.generator_evaluator import read_pictures
    from components.sample_quality import classifier_score
    from modules.sample_grids import fixed_latents

    classifier = run_pipeline(["mnist_mlp", "--source", "mnist_5k"], work / "mnist_mlp")
    generator = run_pipeline(["mnist_dcgan"], work / "mnist_dcgan")
    logger.info("classifier mnist_mlp on mnist_5k: accuracy %.4f; mnist_dcgan: frechet_distance %.4f, blessed %s",
                classifier["metrics"]["sparse_categorical_accuracy"], generator["metrics"]["frechet_distance"],
                generator["blessed"])
    served = tf.saved_model.load(generator["pushed_destination"]).signatures["serving_default"]
    generated = served(z=tf.constant(fixed_latents(GENERATED, 100, seed=0)))["images"].numpy()[..., 0]
    examples = standard_artifacts.Examples()
    examples.uri = str(next((work / "mnist_dcgan" / "pipeline" / "CourseExampleGen" / "examples").iterdir()))
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    real = read_pictures(examples, "eval", "image", (28, 28), limit=GENERATED)
    for name, pictures in (("generated", generated), ("real eval", real)):
        score = classifier_score(class_probabilities(classifier["pushed_destination"], pictures))
        print(json.dumps({"pictures": name, "count": len(pictures), **dataclasses.asdict(score)}))


if __name__ == "__main__":
    main()
