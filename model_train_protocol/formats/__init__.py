"""Reading and writing MTP files: model files ("bloom"), template files, their JSON Schemas, CSV tables.

- ``_checks``: the reader's structural checks (path, expected type, how to fix);
- ``_schemas``: the shipped JSON Schemas and their problems;
- ``_model_file`` and ``_template_file``: the two files a protocol saves;
- ``_reader``: a model file of any version back into a protocol;
- ``_protocol_files``: what ``Protocol.save`` / ``template`` / ``from_json`` call, re-exported as the namespace
  ``protocol_files`` (the protocol reaches up to it on first use);
- ``_filecheck``: ``mtp validate FILE`` (schema and rules, every problem at once);
- ``_csv_import``: a protocol from CSV tables.

Import from here, never from them.
"""

from ._schemas import SchemaProblem, load_schema, schema_for, schema_problems
from ._model_file import model_document, token_type
from ._reader import file_version
from . import _protocol_files as protocol_files
from ._filecheck import SCHEMA_SAMPLES_PER_SET, FileCheck, FileProblem, check_document, check_file, file_kind
from ._csv_import import BAD_PROMPT, GOOD_PROMPT, GUARDRAIL_OUTPUT, LAYOUTS, CSVImportError, RowIssue, import_csv, read_table

__all__ = [
    "SchemaProblem", "load_schema", "schema_for", "schema_problems",
    "model_document", "token_type",
    "file_version",
    "protocol_files",
    "SCHEMA_SAMPLES_PER_SET", "FileCheck", "FileProblem", "check_document", "check_file", "file_kind",
    "BAD_PROMPT", "GOOD_PROMPT", "GUARDRAIL_OUTPUT", "LAYOUTS", "CSVImportError", "RowIssue", "import_csv",
    "read_table",
]
