"""course_lib: the small NumPy library behind the course on training and tuning deep networks.

Keras vocabulary, explicit NumPy underneath: every layer is a forward/backward pair,
every optimizer is a few lines that read like its equation, and every random draw comes
from an explicit ``numpy.random.Generator``.
"""
__version__ = "0.1.0"
