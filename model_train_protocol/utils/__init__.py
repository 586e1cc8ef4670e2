"""The reference's ``model_train_protocol.utils`` package path (compat layer); see :mod:`._protected`."""
