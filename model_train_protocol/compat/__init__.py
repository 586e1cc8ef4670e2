"""The compatibility layer: the reference implementation's call styles and import paths, on top of the core.

:mod:`.instructions` and :mod:`.protocol` are the ``Instruction``, ``ExtendedInstruction``,
``StateMachineInstruction``, ``MultiClassifierInstruction`` and ``Protocol`` of ``import
model_train_protocol as mtp``: they read both the seed API's calls and the reference's, and build the core
classes. :mod:`.modules` keeps a package's classes when the reference's module paths
(``common.tokens.NumToken``) are imported. The layer imports the core; the core never imports it
(tests/test_architecture.py). The reference's paths themselves (``common``, ``errors.<topic>``, ``utils``,
``v1``, ``v2``, ``csv``, ``reference_api``) belong to this layer too. docs/compatibility.md measures it.
"""
