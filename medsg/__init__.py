"""medsg: build medical visual grounding datasets (the ``build-medsg`` pipeline)."""

__version__ = "0.1.0"
