"""The AI analyst: questions in plain language answered from the warehouse by a tool-calling model.

It sits above ``query/`` and below ``api/``: :class:`~streamscope.agent.loop.Analyst` runs the loop
(bounded steps, tokens and wall time) against any OpenAI-compatible chat-completions endpoint
(:mod:`streamscope.agent.model`), with the tools of :mod:`streamscope.agent.tools`; every SQL text
the model writes passes :mod:`streamscope.agent.guard` before :mod:`streamscope.agent.sql` runs it
read-only. The threat model is in the README ("AI analyst") and in :mod:`streamscope.agent.prompt`.
The ``openai`` and ``sqlglot`` packages are the ``agent`` extra: import the submodules only where
the analyst is used.
"""
