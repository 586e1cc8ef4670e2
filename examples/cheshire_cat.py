"""The Cheshire Cat example: ``python examples/cheshire_cat.py [OUT_DIR]`` writes its model and template files.

The example itself lives in the package (``model_train_protocol/examples/cheshire_cat.py``, also run as
``python -m model_train_protocol.examples.cheshire_cat``), so there is one copy to read and to keep in step
with the golden files.
"""

from model_train_protocol.examples.cheshire_cat import build_protocol, main

__all__ = ["build_protocol", "main"]

if __name__ == "__main__":
    main()
