"""litbot: a literature assistant for a research lab's Discord."""

__version__ = "0.1.0"
