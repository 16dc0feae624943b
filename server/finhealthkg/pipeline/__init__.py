"""The build: sources to a validated release. Only the build's commands (validate, build, load,
diff) load it; a server never does (tests/test_layout.py)."""
