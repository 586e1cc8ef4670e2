"""Reading and writing MTP files: model files ("bloom"), template files, their JSON Schemas."""
