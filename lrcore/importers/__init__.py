"""Importers: read a live torch scheduler or a Keras schedule back into a spec."""
