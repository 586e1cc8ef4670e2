"""``FinalToken`` and ``FinalNumToken``: the reference's tokens that may only close an answer.

The seed API lets any token be a final; the file's ``type`` field says
``FinalToken``/``FinalNumToken`` for a token used as a final either way. These
classes only add the reference's rule that a final never labels an input line
(checked by :class:`~model_train_protocol.reference_api.io.InstructionInput`).
"""

from __future__ import annotations

from ..authoring import NumToken, Token

__all__ = ["FinalToken", "FinalNumToken"]


class FinalToken(Token):
    """A token that closes the model's answer (``InstructionOutput(tokenset, final=...)``)."""

    type_name = "FinalToken"
    __slots__ = ()


class FinalNumToken(NumToken, FinalToken):
    """A final that carries a number in ``[min_value, max_value]``: each sample gives it a value."""

    type_name = "FinalNumToken"
    __slots__ = ()
