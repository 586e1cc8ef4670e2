"""The reference's import path ``model_train_protocol.common.instructions.input`` (its classes are in its modules, as in the reference)."""


from ....compat.modules import keep_class_attributes

keep_class_attributes(__name__)
