"""The reading half of ``esv import FILE --mapping NAME|PATH``: event logs to reported events.

``load_cases(path, mapping)`` reads a whole XES or CSV log (plain or gzipped) and returns, per
case, the catalogue entry it belongs under and its events as ``ReportedEvent`` values ready
for the core's ingest service. Mappings are YAML data (``mappings/*.yaml``), not code.
"""
from esupervision.importing.convert import CatalogueSpec, ImportedCase, load_cases, summary
from esupervision.importing.csvlog import CsvColumns, read_csv
from esupervision.importing.mapping import Mapping, builtin_mapping_names, load_mapping
from esupervision.importing.trace import Trace
from esupervision.importing.xes import read_xes

__all__ = [
    "CatalogueSpec", "CsvColumns", "ImportedCase", "Mapping", "Trace", "builtin_mapping_names",
    "load_cases", "load_mapping", "read_csv", "read_xes", "summary",
]
