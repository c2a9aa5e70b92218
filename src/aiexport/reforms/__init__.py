"""Bundled example reforms (YAML): see `aiexport whatif` and docs/policy-lab.md."""
