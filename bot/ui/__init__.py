"""Rendering: models → embeds, views and terminal text. No I/O, no business rules."""
