"""Pages for people: a thing's page, the vocabulary and shapes documentation, links, the
diagram, and the one translation catalogue (i18n.py)."""
