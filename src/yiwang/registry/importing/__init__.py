"""Bulk import of people, places, things and organisations from CSV and XLSX files.

- ``schema``: the columns of each entity type, header matching, downloadable templates;
- ``reading``: streaming CSV (encoding detection: UTF-8, GBK/GB18030) and XLSX;
- ``handlers``: row cleaning per entity type (the rules of ``registry.actions``);
- ``runner``: the batch loop (validate, dedupe, coordinates, grids, upsert, history, report);
- ``writing``: bulk inserts/updates below the ORM (COPY on PostgreSQL);
- ``jobs``: ImportJob lifecycle and the one audit record per import; ``tasks``: huey job.

See docs/imports.md.
"""
