"""Bytewax dataflows, one module each, every one a plain function that builds a Dataflow."""
