"""Workflows: orchestration only. They import message dataclasses and activity definitions, nothing else."""
