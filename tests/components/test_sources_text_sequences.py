"""IMDB (npz word ids, CSV text), daily prices and the course's generated toys."""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from components.sources import DataFileError, get_source
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT, apply_split
from tests.components.formats import MarkerPayload, read_records, write_imdb_npz, write_prices_csv


def test_imdb_npz_ids_as_keras_load_data_gives_them(tmp_path):
    x_train, y_train, x_test, y_test = write_imdb_npz(tmp_path)
    records = read_records("imdb", tmp_path)
    # keras.datasets.imdb.load_data: one RandomState(113) shuffles train then test,
    # then [start_char=1] + [w + index_from=3 for w in review].
    rng = np.random.RandomState(113)
    for split, xs, ys in ((TRAIN_SPLIT, x_train, y_train), (EVAL_SPLIT, x_test, y_test)):
        order = np.arange(len(xs))
        rng.shuffle(order)
        assert [r["word_ids"].tolist() for r in records[split]] == [[1] + [w + 3 for w in xs[i]] for i in order]
        assert [r["label"] for r in records[split]] == [ys[i] for i in order]


def test_imdb_npz_pickle_payload_is_refused(tmp_path):
    write_imdb_npz(tmp_path)
    marker = tmp_path / "pwned"
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    member.write(pickle.dumps(MarkerPayload(str(marker))))
    with zipfile.ZipFile(tmp_path / "imdb.npz", "a") as archive:  # a later member of the same name wins
        archive.writestr("x_test.npy", member.getvalue())
    with pytest.raises(DataFileError, match=r"imdb.npz: member x_test.npy: the pickle asks for (posix|os)\.system"):
        read_records("imdb", tmp_path)
    assert not marker.exists()


def test_imdb_text_is_the_100_reviews_tfx_ships():
    records = read_records("imdb_text")[ALL_RECORDS]
    assert len(records) == 100
    assert {r["label"] for r in records} == {0, 1}
    assert records[0]["text"].startswith("This was an absolutely terrible movie.")
    splits = apply_split(get_source("imdb_text").default_split, {ALL_RECORDS: records})
    assert (len(splits[TRAIN_SPLIT]), len(splits[EVAL_SPLIT])) == (80, 20)


@pytest.mark.parametrize(
    "text, message",
    [
        ("label,review\n0,good\n", r"reviews.csv:1: header expected columns 'label' and 'text', missing text"),
        ('label,text\n0,"fine"\n2,"odd"\n', r"reviews.csv:3: field 'label' expected 0 or 1, got '2'"),
        ('label,text\n1,"a",extra\n', r"reviews.csv:2: expected 2 fields"),
    ],
)
def test_bad_imdb_text(tmp_path, text, message):
    (tmp_path / "reviews.csv").write_text(text)
    with pytest.raises(DataFileError, match=message):
        read_records("imdb_text", tmp_path / "reviews.csv")


def test_prices_windows_never_cross_the_held_out_days(tmp_path):
    path, prices = write_prices_csv(tmp_path, n_days=500)
    records = read_records("prices_csv", path, test_days=100, window=60, shuffle_seed=None)
    train, test = records[TRAIN_SPLIT], records[EVAL_SPLIT]
    assert (len(train), len(test)) == (400 - 60, 100 - 60)
    np.testing.assert_allclose(train[0]["prices"], prices[:60], rtol=1e-6)
    assert train[-1]["next_price"] == pytest.approx(prices[399])
    np.testing.assert_allclose(test[0]["prices"], prices[400:460], rtol=1e-6)
    assert test[-1]["next_price"] == pytest.approx(prices[-1])


def test_prices_course_shuffle_of_training_windows(tmp_path):
    path, prices = write_prices_csv(tmp_path, n_days=500)
    shuffled = read_records("prices_csv", path, test_days=100)[TRAIN_SPLIT]
    labels = [float(prices[i]) for i in range(60, 400)]
    np.random.seed(7)  # the course: np.random.seed(7); np.random.shuffle(y_train)
    np.random.shuffle(labels)
    assert [r["next_price"] for r in shuffled] == pytest.approx(labels)


def test_bad_prices_files(tmp_path):
    path, _ = write_prices_csv(tmp_path, n_days=500)
    with pytest.raises(DataFileError, match=r"header expected columns 'date' and 'price'.*missing 'price'"):
        read_records("prices_csv", path, price_column="price")
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[2], "n/a", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(DataFileError, match=r"SH600519.csv:6: field 'open' expected a number, got 'n/a'"):
        read_records("prices_csv", path)
    lines = write_prices_csv(tmp_path, n_days=500)[0].read_text().splitlines()
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("\n".join(lines))
    with pytest.raises(DataFileError, match=r"SH600519.csv:5: field 'date' expected dates in increasing order"):
        read_records("prices_csv", path)
    path, _ = write_prices_csv(tmp_path, n_days=300)
    with pytest.raises(DataFileError, match=r"300 days cannot make windows of 60"):
        read_records("prices_csv", path)


def test_yogurt_is_generated_exactly_as_the_course():
    rows = read_records("yogurt")[ALL_RECORDS]
    rdm = np.random.RandomState(seed=23455)  # 004 M4, verbatim
    x = rdm.rand(32, 2)
    y_ = [[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for (x1, x2) in x]
    np.testing.assert_allclose([[r["x1"], r["x2"]] for r in rows], x)
    np.testing.assert_allclose([[r["y"]] for r in rows], y_)


def test_dot_labels_are_inside_the_circle():
    rows = read_records("dot")[ALL_RECORDS]
    assert len(rows) == 300
    assert all(r["y_c"] == int(r["x1"] ** 2 + r["x2"] ** 2 < 2) for r in rows)
    assert 0.4 < np.mean([r["y_c"] for r in rows]) < 0.8


@pytest.mark.parametrize(
    "options, windows, params",
    [
        ({"window": 1}, {(0,): 1, (1,): 2, (2,): 3, (3,): 4, (4,): 0}, 5),
        ({"window": 4}, {(0, 1, 2, 3): 4, (1, 2, 3, 4): 0, (2, 3, 4, 0): 1, (3, 4, 0, 1): 2, (4, 0, 1, 2): 3}, 5),
        ({"window": 4, "alphabet": "abcdefghijklmnopqrstuvwxyz", "cyclic": False},
         {tuple(range(i - 4, i)): i for i in range(4, 26)}, 22),
    ],
)
def test_letters_windows_as_the_course(options, windows, params):
    rows = read_records("letters", **options)[ALL_RECORDS]
    assert len(rows) == params
    assert {tuple(r["letters"].tolist()): r["next_letter"] for r in rows} == windows


def test_letters_option_errors_are_clear():
    with pytest.raises(ValueError, match="window 26 needs an alphabet longer than 26"):
        get_source("letters").parse_options({"window": 26, "alphabet": "abcdefghijklmnopqrstuvwxyz", "cyclic": False})


def test_prices_csv_with_a_utf8_byte_order_mark_reads_as_without(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark; the first column is still `date`."""
    path, _ = write_prices_csv(tmp_path / "plain", n_days=200)
    lines = path.read_text(encoding="utf-8").splitlines()
    without_index = "\n".join(line.split(",", 1)[1] for line in lines) + "\n"
    plain = tmp_path / "plain.csv"
    plain.write_text(without_index, encoding="utf-8")
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + without_index.encode("utf-8"))
    expected = read_records("prices_csv", str(plain), test_days=50, window=20, shuffle_seed=None)
    got = read_records("prices_csv", str(marked), test_days=50, window=20, shuffle_seed=None)
    assert got.keys() == expected.keys()
    for split in expected:
        assert len(got[split]) == len(expected[split]) > 0
        np.testing.assert_array_equal(got[split][0]["prices"], expected[split][0]["prices"])
