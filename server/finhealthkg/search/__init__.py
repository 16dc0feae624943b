"""Finding things by name: the index of labels built with each release (index.py), the
normalisation and ranking of names (text.py) and the lookups a server makes (lookup.py)."""

from .index import INDEX_FILE, INDEX_MEDIA_TYPE, write_search_index
from .lookup import Hit, SearchIndex, SearchUnavailable
from .text import fold

__all__ = ["INDEX_FILE", "INDEX_MEDIA_TYPE", "Hit", "SearchIndex", "SearchUnavailable", "fold", "write_search_index"]
