"""The tolerant comparison of notebook outputs (tests/output_tolerance.py): what it forgives
(rounding in the last printed digits) and what it still catches (changed words, changed
results, changed counts)."""
from __future__ import annotations

import pytest

from output_tolerance import numbers_agree, texts_agree


@pytest.mark.parametrize("reference, computed", [
    ("gap 0.127", "gap 0.126"),                      # last digit, another BLAS kernel
    ("loss 0.0431 +- 0.0050", "loss 0.0433 +- 0.0049"),
    ("best rate 3.162e-02", "best rate 3.165e-02"),
    ("accuracy 97.0%", "accuracy 96.9%"),
    ("val_loss=1.2345", "val_loss=1.2399"),          # within 2% of the value
    ("1257 / 270 / 270", "1257 / 270 / 270"),
])
def test_rounding_differences_pass(reference, computed):
    assert texts_agree(reference, computed)


@pytest.mark.parametrize("reference, computed", [
    ("without batch norm: diverges", "without batch norm: degrades"),   # a claim flips
    ("winner: Adam", "winner: Nadam"),
    ("gap 0.127", "gap 0.140"),                      # a result off by 10%
    ("accuracy 0.970", "accuracy 0.930"),
    ("stopped at epoch 12", "stopped at epoch 13"),  # integers have no rounding
    ("3 of 8 runs diverged", "4 of 8 runs diverged"),
    ("loss 0.5", "loss nan"),
    ("a 1 b 2", "a 1 b 2 c 3"),                      # an extra number
])
def test_changed_results_fail(reference, computed):
    assert not texts_agree(reference, computed)


def test_number_rules():
    assert numbers_agree("0.127", "0.129")           # 2 units of the last digit
    assert not numbers_agree("0.127", "0.130")
    assert numbers_agree("100.0", "101.9")           # 2% of the value
    assert not numbers_agree("100.0", "102.5")
    assert not numbers_agree("12", "13")
    assert numbers_agree("1e-3", "1.01e-3")
