"""One BLAS thread for the small matrices of the course.

A batch of 32 times a 64x256 kernel is far too small to share between threads: a second
OpenBLAS thread costs more in synchronisation than it saves, and on a busy machine its
spinning makes a product 10 to 30 times slower (bench/training.py measures it). Training,
prediction and the explorers' computations therefore run inside ``single_blas_thread()``.
"""
from __future__ import annotations

from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def single_blas_thread():
    """Context manager limiting BLAS to one thread for the duration of the block."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
