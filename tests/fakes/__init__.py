"""Fakes that speak real protocols on 127.0.0.1 (upstream APIs; later, Discord)."""
