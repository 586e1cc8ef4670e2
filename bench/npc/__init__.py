"""The NPC benchmark: game NPC protocols (``protocols.py``) built from the shared spec."""
