"""The course, one runnable lesson per stop: ``zerograd lesson list``, ``zerograd lesson NAME``.

Each ``NN_topic.py`` is a plain script using zerograd's public API: run it with
``python examples/NN_topic.py`` or ``zerograd lesson NN_topic`` (``--quick`` for the short run,
``--out DIR`` for its pictures). ``docs/course.md`` walks through them in order.
"""
