"""Stores: where a release's graphs are queried. The web layer knows only `Store`."""

from .base import QueryDataset, Store, StoreError

__all__ = ["QueryDataset", "Store", "StoreError"]
