"""WER normalisation and alignment."""

import pytest

from hearing_assist.asr.wer import normalize, number_to_words, ordinal_to_words, wer


@pytest.mark.parametrize("text, expected", [
    ("And so, my fellow Americans!", "and so my fellow americans"),
    ("I'm sure going along with you all, Elijah.", "i am sure going along with you all elijah"),
    ("Don't you think? We'll see; they're here, you've won.", "do not you think we will see they are here you have won"),
    ("IN EIGHTEEN THIRTEEN", "in eighteen thirteen"),
    ("In 1813", "in eighteen thirteen"),
    ("10 of clubs", "ten of clubs"),
    ("5, 5.", "five five"),
    ("It costs 3.5 dollars, 100% sure", "it costs three point five dollars one hundred percent sure"),
    ("1,250 people", "one thousand two hundred fifty people"),
    ("Mr. Dashwood met Dr. Smith", "mister dashwood met doctor smith"),
    ("ill-disposed", "ill disposed"),
    ("the 21st time", "the twenty first time"),
    ("Um, uh, the cat", "the cat"),
    ("Crooked-Leg's neck", "crooked leg's neck"),
    ("year 2000 and 2024", "year two thousand and twenty twenty four"),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_numbers_0_to_99_are_distinct_words_without_digits():
    words = [number_to_words(n) for n in range(100)]
    assert len(set(words)) == 100
    assert all(not any(ch.isdigit() for ch in w) for w in words)
    assert number_to_words(0) == "zero" and number_to_words(42) == "forty two" and number_to_words(99) == "ninety nine"
    assert normalize(" ".join(str(n) for n in range(100))) == " ".join(words)


def test_ordinals():
    assert [ordinal_to_words(n) for n in (1, 2, 3, 5, 12, 20, 99)] == [
        "first", "second", "third", "fifth", "twelfth", "twentieth", "ninety ninth"]


def test_wer_counts_substitutions_deletions_insertions():
    r = wer("a b c d e f", "a x c e f g")
    assert (r.substitutions, r.deletions, r.insertions, r.reference_words) == (1, 1, 1, 6)
    assert r.wer == pytest.approx(3 / 6)


def test_wer_normalises_before_scoring():
    assert wer("Ten of clubs.", "10 of Clubs").wer == 0.0
    assert wer("Ten of clubs.", "10 of Clubs", normalise=False).wer > 0.0


def test_wer_edge_cases():
    assert wer("", "").wer == 0.0
    assert wer("", "hello").wer == float("inf")
    assert wer("a b c", "").deletions == 3
    total = wer("a b", "a c") + wer("c d", "c d e")
    assert (total.errors, total.reference_words) == (2, 4)
