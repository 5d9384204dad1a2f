"""Contracts: the shapes data must have at each stage boundary, and the settings model.

Nothing here imports the rest of the project.
"""
