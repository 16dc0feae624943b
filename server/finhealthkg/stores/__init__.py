"""Stores: where a release's graphs are queried. The web layer knows only `Store`."""

from .base import QueryDataset, QueryTimeout, Store, StoreError

__all__ = ["QueryDataset", "QueryTimeout", "Store", "StoreError"]
