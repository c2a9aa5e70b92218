"""aiexport: the US export controls on AI compute, executable, explainable and auditable."""

__version__ = "0.1.0"
