"""Public queries: how they are read and checked, where they run, and what bounds them."""
