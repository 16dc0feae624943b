"""The web layer: a Flask app built by `create_app(settings)`, one blueprint per concern."""

from .app import create_app

__all__ = ["create_app"]
