"""The reference implementation's code API (model-train-protocol 0.3.2 and 0.4-1.2.8): part of the
compatibility layer, which the core never imports (tests/test_architecture.py).

``FinalToken``/``FinalNumToken`` (:mod:`.tokens`), ``InstructionInput``/``InstructionOutput``/
``ExtendedResponse`` and the reading of the reference's ``Instruction``/``ExtendedInstruction`` calls
(:mod:`.io`), ``Protocol(version=, state_machine=)`` (:mod:`.protocol`). The classes that read those calls
are in :mod:`model_train_protocol.compat`; this package itself imports nothing.
"""
