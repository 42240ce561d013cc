"""Thin cogs: parse the interaction, call a service, render, respond."""
