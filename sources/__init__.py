"""Connectors that capture what platforms send and publish it, unparsed, onto the bus."""
