"""Everything that draws or asks: the course side of the library.

The numerical core (``course_lib.layers``, ``course_lib.optimizers``, ...) imports neither
matplotlib nor ipywidgets; this package holds what the notebooks show on top of it:

* ``explorer``, ``controls``: the explorer pattern (controls, a figure, ``update``) and the
  registry that lets the tests and benchmarks find every explorer;
* ``exercise``: self-checking exercises (cases, known mistakes, feedback);
* ``figures``: the course's figure style and palette; ``display``: ``show_source``;
* one folder per notebook topic, each with the same few modules (``explorers.py``,
  ``exercises.py``, and where the topic needs them ``runs.py`` for its experiments and
  ``figures.py`` for its static figures).
"""
