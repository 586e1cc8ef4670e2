"""The reference's import path ``model_train_protocol.common.instructions.input`` (its classes are in its modules, as in the reference)."""

