"""Benchmarks, run from the repository root as modules: `python -m benchmarks.site`, `.suite`, `.checker`.

A package (not a folder of scripts) so that `python -m` finds it before an installed `benchmarks` package.
"""
