"""A folder of unlabelled image files: what a generative model learns from (the course's GAN
lessons read a folder of anime faces, every file a training picture)."""
from __future__ import annotations

import os
from typing import Literal, Sequence

from pydantic import PositiveInt

from components.sources.base import DataFileError, DataSource, SourceRecords
from components.sources.images import load_image
from components.splits import ALL_RECORDS, ShuffleSplit
from modules.features import FeatureSet, unlabelled_image_set
from modules.spec_sections import StrictModel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


class ImageFolderOptions(StrictModel):
    """Every image file in the folder, converted to `color` and resized to `size` (height, width)."""

    color: Literal["grey", "rgb"] = "rgb"
    size: tuple[PositiveInt, PositiveInt] = (64, 64)


def image_folder_features(options: ImageFolderOptions) -> FeatureSet:
    return unlabelled_image_set(options.size[0], options.size[1], 1 if options.color == "grey" else 3)


def is_image_file(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(IMAGE_SUFFIXES)


def read_image_folder(files: Sequence[str], options: ImageFolderOptions) -> SourceRecords:
    """Every image file among `files` (name order; other files are skipped), no label."""
    images = sorted(path for path in files if is_image_file(path))
    if not images:
        folder = os.path.dirname(files[0]) if files else "the data directory"
        raise DataFileError(f"{folder}: no image files; expected files ending in {', '.join(IMAGE_SUFFIXES)}")
    shape = image_folder_features(options).feature("image").shape
    return {ALL_RECORDS: [{"image": load_image(path, options.color, options.size).reshape(shape)} for path in images]}


IMAGE_FOLDER_SOURCE = DataSource(
    id="image_folder",
    description="your own unlabelled images: every PNG/JPEG/BMP/GIF/WebP file of a folder (for generative models)",
    features=image_folder_features,
    read=read_image_folder,
    default_split=ShuffleSplit(eval_fraction=0.1, seed=7),
    layouts=("*",),
    how_to_get="Put the image files in one folder (the course's GAN read a folder of 96x96 anime faces).",
    options_class=ImageFolderOptions,
    accepts_file=False,
)
