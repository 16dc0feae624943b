"""Finding things by name: the index of labels built with each release (index.py), the
normalisation and ranking of names (text.py) and the lookups a server makes (lookup.py)."""

from .lookup import Hit, SearchIndex, SearchUnavailable
from .text import fold

__all__ = ["Hit", "SearchIndex", "SearchUnavailable", "fold"]
