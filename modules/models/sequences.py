"""Builders of the course's sequence models (docs/course.md, "Sequence models").

- IMDB (002): word ids [batch, 80] -> Embedding(10000, 100) -> two recurrent layers of 64 with
  dropout 0.5 -> Dense(1, sigmoid). The dropout is kept in the exported model (tf_keras saves it).
- Letters (004 M25-M28): one-hot letters [batch, steps, alphabet] or letter ids [batch, steps]
  (-> Embedding) -> SimpleRNN -> Dense(alphabet, softmax).
- Stock (004 M29-M31): 60 scaled prices [batch, 60] -> two recurrent layers (80 returning
  sequences, then 100), Dropout .2 after each -> Dense(1).
"""
from __future__ import annotations

from typing import Literal

import tf_keras as keras

from modules.model_hparams import ImdbHParams, LettersEmbeddingHParams, LettersOneHotHParams, StockHParams
from modules.registry import register_model

layers = keras.layers
Cell = Literal["simple_rnn", "lstm", "gru"]
_CELLS: dict[str, type[keras.layers.Layer]] = {
    "simple_rnn": layers.SimpleRNN,
    "lstm": layers.LSTM,
    "gru": layers.GRU,
}


def _imdb(hp: ImdbHParams, cell: Cell, name: str) -> keras.Model:
    rnn = _CELLS[cell]
    return keras.Sequential(
        [
            keras.Input(shape=hp.input_shape, dtype="int64"),
            layers.Embedding(hp.vocab_size, hp.embedding_dim),
            rnn(hp.units, dropout=hp.dropout, return_sequences=True),
            rnn(hp.units, dropout=hp.dropout),
            layers.Dense(1, activation="sigmoid"),
        ],
        name=name,
    )


@register_model("imdb_simplernn", "Embedding(10000, 100), SimpleRNN(64, dropout .5) x2, Dense(1, sigmoid) (002)")
def build_imdb_simplernn(hp: ImdbHParams) -> keras.Model:
    return _imdb(hp, "simple_rnn", "imdb_simplernn")


@register_model("imdb_lstm", "Embedding(10000, 100), LSTM(64, dropout .5) x2, Dense(1, sigmoid) (002)")
def build_imdb_lstm(hp: ImdbHParams) -> keras.Model:
    return _imdb(hp, "lstm", "imdb_lstm")


@register_model("imdb_gru", "Embedding(10000, 100), GRU(64, dropout .5) x2, Dense(1, sigmoid) (002)")
def build_imdb_gru(hp: ImdbHParams) -> keras.Model:
    return _imdb(hp, "gru", "imdb_gru")


@register_model("letters_onehot", "one-hot letters -> SimpleRNN(3) -> Dense(5, softmax): 47 parameters (004 M25/M26)")
def build_letters_onehot(hp: LettersOneHotHParams) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape), layers.SimpleRNN(hp.units),
         layers.Dense(hp.num_classes, activation="softmax")],
        name="letters_onehot",
    )


@register_model("letters_embedding", "letter ids -> Embedding(5, 2) -> SimpleRNN(3) -> Dense(5, softmax): 48 parameters "
                "(004 M27); a-z: Embedding(26, 2), SimpleRNN(10), Dense(26): 468 (M28)")
def build_letters_embedding(hp: LettersEmbeddingHParams) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape, dtype="int64"), layers.Embedding(hp.alphabet_size, hp.embedding_dim),
         layers.SimpleRNN(hp.units), layers.Dense(hp.alphabet_size, activation="softmax")],
        name="letters_embedding",
    )


def _stock(hp: StockHParams, cell: Cell, name: str) -> keras.Model:
    rnn = _CELLS[cell]
    days = hp.input_shape[0]
    return keras.Sequential(
        [
            keras.Input(shape=hp.input_shape),
            layers.Reshape((days, 1)),  # the course's x_train reshaped to [samples, 60, 1]
            rnn(hp.units[0], return_sequences=True),
            layers.Dropout(hp.dropout),
            rnn(hp.units[1]),
            layers.Dropout(hp.dropout),
            layers.Dense(1),
        ],
        name=name,
    )


@register_model("stock_rnn", "SimpleRNN(80, seq), Dropout .2, SimpleRNN(100), Dropout .2, Dense(1) (004 M29)")
def build_stock_rnn(hp: StockHParams) -> keras.Model:
    return _stock(hp, "simple_rnn", "stock_rnn")


@register_model("stock_lstm", "LSTM(80, seq), Dropout .2, LSTM(100), Dropout .2, Dense(1): 98,741 parameters (004 M30)")
def build_stock_lstm(hp: StockHParams) -> keras.Model:
    return _stock(hp, "lstm", "stock_lstm")


@register_model("stock_gru", "GRU(80, seq), Dropout .2, GRU(100), Dropout .2, Dense(1) (004 M31)")
def build_stock_gru(hp: StockHParams) -> keras.Model:
    return _stock(hp, "gru", "stock_gru")
