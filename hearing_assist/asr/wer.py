"""Word error rate with Whisper-style English normalisation, without the Hugging Face hub.

Normalisation (a small subset of Whisper's ``EnglishTextNormalizer``, chosen so that references from different
sources and Whisper's punctuated, numeric output compare fairly):

- lowercase; "&" -> "and", "%" -> "percent"; hyphens and slashes split words;
- titles: mr/mrs/ms/dr/st -> mister/missus/miss/doctor/saint;
- common contractions expanded ("i'm" -> "i am", "won't" -> "will not", "'ll", "'re", "'ve", "'d", "n't");
  a remaining possessive "'s" is kept attached (``john's``) because it cannot be told apart from "is";
- numbers written as words: digits become words (0-999,999; four-digit years 1100-1999 and 2010-2099 the way
  they are read, "1813" -> "eighteen thirteen"; "1,000" and "3.5" handled; ordinals "1st".."99th");
- punctuation removed, fillers ("uh", "um", "hmm", "mm", "er", "ah") dropped, whitespace collapsed.

Whisper normalises words to digits instead; going digits -> words is equivalent for scoring and needs no tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}

_CONTRACTIONS = {
    "won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not", "ain't": "is not",
    "let's": "let us", "i'm": "i am", "it's": "it is", "that's": "that is", "there's": "there is",
    "here's": "here is", "what's": "what is", "where's": "where is", "who's": "who is", "he's": "he is",
    "she's": "she is", "how's": "how is", "y'all": "you all", "gonna": "going to", "wanna": "want to",
    "gotta": "got to", "o'clock": "of the clock",
}
_SUFFIXES = [("n't", " not"), ("'ll", " will"), ("'re", " are"), ("'ve", " have"), ("'d", " would"), ("'m", " am")]
_TITLES = {"mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "st": "saint", "prof": "professor"}
_FILLERS = {"uh", "um", "umm", "hmm", "mm", "mhm", "er", "ah", "eh"}


def number_to_words(n: int) -> str:
    """Cardinal ``n`` (0..999,999) in English words without "and" ("one hundred five")."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + ("" if o == 0 else " " + _ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        return _ONES[h] + " hundred" + ("" if r == 0 else " " + number_to_words(r))
    if n < 1_000_000:
        th, r = divmod(n, 1000)
        return number_to_words(th) + " thousand" + ("" if r == 0 else " " + number_to_words(r))
    return " ".join(_ONES[int(d)] for d in str(n))  # beyond the table: read digit by digit


def year_to_words(n: int) -> str:
    """A four-digit year as read aloud ("1813" -> "eighteen thirteen", "1900" -> "nineteen hundred")."""
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_to_words(hi) + " hundred"
    if lo < 10:
        return number_to_words(hi) + " oh " + _ONES[lo]
    return number_to_words(hi) + " " + number_to_words(lo)


def ordinal_to_words(n: int) -> str:
    """Ordinal ``n`` (1..999,999) in words ("21" -> "twenty first")."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORD_IRREGULAR:
        words[-1] = _ORD_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _digits_to_words(tok: str) -> str:
    m = re.fullmatch(r"(\d+)(st|nd|rd|th)", tok)
    if m:
        return ordinal_to_words(int(m.group(1)))
    if re.fullmatch(r"\d+\.\d+", tok):
        whole, frac = tok.split(".")
        return number_to_words(int(whole)) + " point " + " ".join(_ONES[int(d)] for d in frac)
    if re.fullmatch(r"\d+", tok):
        n = int(tok)
        if len(tok) == 4 and (1100 <= n <= 1999 or 2010 <= n <= 2099):
            return year_to_words(n)
        if len(tok) > 1 and tok.startswith("0"):
            return " ".join(_ONES[int(d)] for d in tok)  # "007" is read digit by digit
        return number_to_words(n)
    return tok


def normalize(text: str) -> str:
    """Whisper-style normalised English text for scoring (see module docstring)."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = t.replace("&", " and ").replace("%", " percent ")
    # "1,250" is a count, never a year: spell it out before the year rule can see "1250".
    t = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: " " + number_to_words(int(m.group().replace(",", ""))) + " ", t)
    t = re.sub(r"[-/\u2013\u2014]", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)  # full stops but not decimal points
    t = re.sub(r"[^\w\s'.]", " ", t)
    out: list[str] = []
    for tok in t.split():
        tok = tok.strip("'")
        if not tok:
            continue
        if tok in _TITLES:
            out.append(_TITLES[tok])
            continue
        if tok in _CONTRACTIONS:
            out.extend(_CONTRACTIONS[tok].split())
            continue
        for suf, rep in _SUFFIXES:
            if tok.endswith(suf) and len(tok) > len(suf):
                tok = tok[: -len(suf)] + rep
                break
        for piece in tok.split():
            piece = _digits_to_words(piece) if piece[0].isdigit() else piece
            out.extend(p for p in piece.replace(".", " ").split() if p not in _FILLERS)
    return " ".join(out)


@dataclass(frozen=True)
class WerResult:
    """Word error counts against a reference; ``wer`` = (S + D + I) / N."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        """S + D + I."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """Word error rate as a fraction (0.1 = 10 %); 0 for an empty reference with no insertions."""
        if self.reference_words == 0:
            return 0.0 if self.insertions == 0 else float("inf")
        return self.errors / self.reference_words

    def __add__(self, other: "WerResult") -> "WerResult":
        return WerResult(self.substitutions + other.substitutions, self.deletions + other.deletions,
                         self.insertions + other.insertions, self.reference_words + other.reference_words)


def align_counts(ref: list[str], hyp: list[str]) -> WerResult:
    """Word-level Levenshtein alignment of token lists; counts S, D, I of a minimum-edit path."""
    n, m = len(ref), len(hyp)
    # cost[j] holds (edits, subs, dels, ins) for the current row; ties prefer substitutions (fewest operations).
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [(0, 0, 0, 0)] * m
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                cur[j] = prev[j - 1]
                continue
            s, d, ins = prev[j - 1], prev[j], cur[j - 1]
            best = min((s[0], 0), (d[0], 1), (ins[0], 2))
            if best[1] == 0:
                cur[j] = (s[0] + 1, s[1] + 1, s[2], s[3])
            elif best[1] == 1:
                cur[j] = (d[0] + 1, d[1], d[2] + 1, d[3])
            else:
                cur[j] = (ins[0] + 1, ins[1], ins[2], ins[3] + 1)
        prev = cur
    _, s, d, i = prev[m]
    return WerResult(s, d, i, n)


def wer(reference: str, hypothesis: str, normalise: bool = True) -> WerResult:
    """WER of ``hypothesis`` against ``reference`` (both normalised first unless ``normalise`` is False)."""
    if normalise:
        reference, hypothesis = normalize(reference), normalize(hypothesis)
    return align_counts(reference.split(), hypothesis.split())
