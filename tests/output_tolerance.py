"""How nbval compares a notebook's printed numbers: equal up to rounding, not byte for byte.

The notebooks are committed with their outputs, and nbval re-executes them and compares each
cell's text with the committed one. Floating-point results differ in their last bits between
machines (OpenBLAS picks a matrix kernel per CPU, numpy a SIMD loop per CPU), and a few hundred
training steps carry such a difference into the printed digits: ``gap 0.127`` on one machine is
``gap 0.126`` on another. Byte-for-byte comparison turns that into a failure on every machine
but the one the outputs were committed on.

So when nbval's own comparison fails, :func:`texts_agree` decides instead:

* the text around the numbers must be identical (a claim that flips -- "diverges" instead of
  "trains", "Adam" instead of "Nesterov" as the winner -- still fails);
* each number must equal its committed value within ``NUMBER_TOLERANCE`` (relative) or
  ``LAST_DIGIT_UNITS`` units of the last digit printed, whichever is larger: a number printed
  as ``0.127`` may be ``0.125`` to ``0.129``, and any number may move by 2%; a result off by a
  few percent fails.

An integer (no decimal point, no exponent) has no rounding to allow for: it may move by the 2%
only, so a count such as ``epoch 12`` or ``3 of 8 runs`` must match exactly.
"""
from __future__ import annotations

import math
import re

#: Relative difference allowed between a printed number and its committed value.
NUMBER_TOLERANCE = 0.02
#: Units of the last printed digit allowed in any case (rounding of a value near a boundary).
LAST_DIGIT_UNITS = 2

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _last_digit_unit(token):
    """The value of one unit in the last digit of a printed number: 0.127 -> 0.001."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def _is_integer(token):
    return not any(c in token for c in ".eE")


def numbers_agree(reference, computed):
    """Whether the printed number ``computed`` equals the committed ``reference`` up to rounding."""
    a, b = float(reference), float(computed)
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    allowed = NUMBER_TOLERANCE * max(abs(a), abs(b))
    if not (_is_integer(reference) and _is_integer(computed)):
        unit = max(_last_digit_unit(reference), _last_digit_unit(computed))
        allowed = max(allowed, LAST_DIGIT_UNITS * unit)
    return abs(a - b) <= allowed * (1 + 1e-9)


def texts_agree(reference, computed):
    """Whether two output texts are the same words around numbers that agree (see module doc)."""
    if reference == computed:
        return True
    if not isinstance(reference, str) or not isinstance(computed, str):
        return False
    ref_numbers, new_numbers = _NUMBER.findall(reference), _NUMBER.findall(computed)
    if len(ref_numbers) != len(new_numbers):
        return False
    if _NUMBER.split(reference) != _NUMBER.split(computed):
        return False
    return all(numbers_agree(r, c) for r, c in zip(ref_numbers, new_numbers))


def _flattened(cell, outputs, skip_compare):
    """nbval's view of a cell's outputs: mime type or stream name -> list of sanitized texts."""
    from nbval.plugin import transform_streams_for_comparison

    flat = {}
    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in skip_compare:
                continue
            if key == "data":
                for mime, text in value.items():
                    if mime not in skip_compare:
                        flat.setdefault(mime, []).append(cell.sanitize(text))
            else:
                flat.setdefault(key, []).append(cell.sanitize(value))
    return flat


def outputs_agree(cell, computed, reference, skip_compare):
    """The tolerant comparison of one cell: same kinds of output, texts agreeing per kind."""
    new, ref = _flattened(cell, computed, skip_compare), _flattened(cell, reference, skip_compare)
    if set(new) != set(ref):
        return False
    for key, ref_texts in ref.items():
        if len(ref_texts) != len(new[key]):
            return False
        if not all(texts_agree(r, c) for r, c in zip(ref_texts, new[key])):
            return False
    return True


def install():
    """Make nbval's cell comparison fall back on :func:`outputs_agree` when bytes differ."""
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell.compare_outputs, "tolerant", False):
        return
    exact = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        if exact(self, test, ref, skip_compare):
            return True
        if outputs_agree(self, test, ref, skip_compare or self.parent.skip_compare):
            self.comparison_traceback = []
            return True
        return False

    compare_outputs.tolerant = True
    IPyNbCell.compare_outputs = compare_outputs
