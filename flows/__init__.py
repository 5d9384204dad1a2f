"""Orchestration: the import pipeline, its two runners (in-process and Prefect), the CLI."""
