"""The reference's ``model_train_protocol.common`` package: its import paths, for scripts written for it.

Everything here is re-exported from where this library defines it; ``import model_train_protocol as mtp`` has it all.
"""


from ..compat.modules import keep_class_attributes

keep_class_attributes(__name__)
