"""The reference's import path ``model_train_protocol.csv`` (compat layer); the conversion is in :mod:`.conversion`."""

from .conversion import CSVConversion, CSVLine

__all__ = ["CSVConversion", "CSVLine"]
