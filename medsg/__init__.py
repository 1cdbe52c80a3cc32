"""medsg: build medical visual grounding datasets (the ``build-medsg`` pipeline). This
package holds the entry points only: the CLI and ``project-ct``."""

from engine import __version__

__all__ = ["__version__"]
