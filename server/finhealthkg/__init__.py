"""finhealthkg: the linked-data publisher of the Finnish health-sector growth strategy."""

__version__ = "0.1.0"
