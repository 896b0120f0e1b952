"""The app layer: the ``streamscope`` command line and the process runtime.

This is the one place that wires a process together: which sources, dataflows and API run here,
built from :class:`~streamscope.settings.Settings`. Nothing below it reads the environment or
decides what runs.
"""
