"""The reference implementation's code API (model-train-protocol 0.3.2 and 0.4-1.2.8), next to the seed API.

Scripts written for the reference run unchanged: ``FinalToken``/``FinalNumToken``
(:mod:`.tokens`), ``InstructionInput``/``InstructionOutput``/``ExtendedResponse`` and
the reading of the reference's ``Instruction``/``ExtendedInstruction`` calls
(:mod:`.io`), ``Protocol(version=, state_machine=)`` (:mod:`.protocol`). Each
module sits in the layer of what it builds (tests/test_architecture.py); this
package itself imports nothing.
"""
