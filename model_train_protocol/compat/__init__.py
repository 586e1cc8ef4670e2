"""The compatibility layer: the reference implementation's import paths and call styles, on top of the core.

It imports the core and the core never imports it (tests/test_architecture.py). The reference's paths
(``model_train_protocol.common…``, ``errors.<topic>``, ``utils``, ``v1``, ``v2``, ``csv``) are thin modules
that re-export from here or from the core.
"""
