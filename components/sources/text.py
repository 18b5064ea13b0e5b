"""IMDB reviews: Keras' integer-encoded `imdb.npz`, and raw labelled text as CSV `label,text`.

`imdb.npz` stores the reviews as numpy object arrays, which numpy can only load by unpickling:
each `.npy` member is read here through `restricted_load`, never `np.load(allow_pickle=True)`.
The ids come out as `keras.datasets.imdb.load_data()` gives them (its shuffle with seed 113,
`start_char` 1, ids offset by `index_from` 3); keeping the top words and padding is Transform's job.
"""
from __future__ import annotations

import csv
import io
import sys
import zipfile
from typing import Sequence

import numpy as np
from numpy.lib import format as npy_format
from pydantic import NonNegativeInt

from components.shipped import package_data_dir
from components.sources.base import DataFileError, DataSource, SourceRecords, check_label, keras_cache_dir
from components.sources.safe_files import UnsafeFileError, restricted_load
from components.sources.tabular import only_file, read_text
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT, GivenSplit, ShuffleSplit
from modules.features import Feature, FeatureSet
from modules.spec_sections import StrictModel

IMDB_IDS = FeatureSet(
    features=("word_ids",), label="label", num_classes=2, kinds={"word_ids": Feature("int", (None,))}
)
IMDB_TEXT = FeatureSet(
    features=("text",), label="label", num_classes=2, kinds={"text": Feature("text")}
)


class ImdbOptions(StrictModel):
    """`keras.datasets.imdb.load_data` arguments that shape the ids (its defaults)."""

    seed: int = 113
    start_char: NonNegativeInt | None = 1
    index_from: NonNegativeInt = 3


def read_npy_member(path: str, archive: zipfile.ZipFile, key: str) -> np.ndarray:
    """One array of an `.npz`; object arrays through the restricted unpickler."""
    member = f"{key}.npy"
    try:
        handle = io.BytesIO(archive.read(member))
    except KeyError:
        raise DataFileError(f"{path}: array {key!r} missing; expected x_train, y_train, x_test, y_test") from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DataFileError(f"{path}: member {member} unreadable ({error})") from None
    try:
        version = npy_format.read_magic(handle)
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        _, _, dtype = read_header(handle)
    except ValueError as error:
        raise DataFileError(f"{path}: member {member} is not a .npy array ({error})") from None
    if dtype.hasobject:
        try:
            array = restricted_load(handle, encoding="latin1")
        except UnsafeFileError as error:
            raise DataFileError(f"{path}: member {member}: {error}") from None
        if not isinstance(array, np.ndarray):
            raise DataFileError(f"{path}: member {member} expected an array, got {type(array).__name__}")
        return array
    handle.seek(0)
    return npy_format.read_array(handle, allow_pickle=False)


def _review_ids(path: str, key: str, index: int, review: object) -> list[int]:
    try:
        ids = [int(w) for w in review]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise DataFileError(f"{path}: {key}[{index}] expected a list of word ids, got {type(review).__name__}") from None
    if any(w < 0 or w > sys.maxsize for w in ids):
        raise DataFileError(f"{path}: {key}[{index}] expected non-negative word ids")
    return ids


def read_imdb_npz(files: Sequence[str], options: ImdbOptions) -> SourceRecords:
    path = only_file(files, "imdb")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataFileError(f"{path}: not a readable .npz file ({error})") from None
    rng = np.random.RandomState(options.seed)
    records = {}
    with archive:
        for split, (x_key, y_key) in ((TRAIN_SPLIT, ("x_train", "y_train")), (EVAL_SPLIT, ("x_test", "y_test"))):
            reviews = read_npy_member(path, archive, x_key)
            labels = read_npy_member(path, archive, y_key).reshape(-1)
            if len(reviews) != len(labels):
                raise DataFileError(f"{path}: {len(reviews)} reviews in {x_key} but {len(labels)} labels in {y_key}")
            order = np.arange(len(reviews))
            rng.shuffle(order)  # the same RandomState, train then test, as load_data
            split_records = []
            for i in order:
                ids = [w + options.index_from for w in _review_ids(path, x_key, int(i), reviews[i])]
                if options.start_char is not None:
                    ids = [options.start_char, *ids]
                label = check_label(path, f"{y_key}[{i}]", int(labels[i]), 2)
                split_records.append({"word_ids": np.asarray(ids, dtype=np.int64), IMDB_IDS.label: label})
            records[split] = split_records
    return records


def read_imdb_text(files: Sequence[str], _options: object) -> SourceRecords:
    """CSV with a header holding `label` (0 or 1) and `text` columns, as the tfx wheel's sample."""
    path = only_file(files, "imdb_text")
    rows = csv.reader(io.StringIO(read_text(path)))
    header = next(rows, None) or []
    missing = [name for name in ("label", "text") if name not in header]
    if missing:
        raise DataFileError(f"{path}:1: header expected columns 'label' and 'text', missing {', '.join(missing)}")
    label_at, text_at = header.index("label"), header.index("text")
    records = []
    for line_number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataFileError(f"{path}:{line_number}: expected {len(header)} fields ({', '.join(header)}), got {len(row)}")
        label_text = row[label_at].strip()
        if label_text not in ("0", "1"):
            raise DataFileError(f"{path}:{line_number}: field 'label' expected 0 or 1, got {label_text!r}")
        records.append({"text": row[text_at], IMDB_TEXT.label: int(label_text)})
    return {ALL_RECORDS: records}


IMDB_SOURCE = DataSource(
    id="imdb",
    description="50,000 IMDB reviews as word ids, 25k train / 25k test (Keras' imdb.npz)",
    features=lambda _: IMDB_IDS,
    read=read_imdb_npz,
    default_split=GivenSplit(),
    layouts=("imdb.npz",),
    default_dirs=lambda: [keras_cache_dir()],
    how_to_get="keras.datasets.imdb.load_data() caches ~/.keras/datasets/imdb.npz.",
    options_class=ImdbOptions,
)

IMDB_TEXT_SOURCE = DataSource(
    id="imdb_text",
    description="raw labelled IMDB reviews, CSV 'label,text' (default: the 100 the tfx wheel ships)",
    features=lambda _: IMDB_TEXT,
    read=read_imdb_text,
    default_split=ShuffleSplit(eval_fraction=0.2, seed=116),
    layouts=("imdb_small_with_labels.txt", "*.csv"),
    default_dirs=lambda: [package_data_dir("tfx.examples.imdb", "data")],
    shipped_in=("tfx.examples.imdb", "data"),
    how_to_get="The tfx wheel ships tfx/examples/imdb/data/imdb_small_with_labels.txt.",
)
