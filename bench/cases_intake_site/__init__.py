"""A bench-only Django site for ``cases-intake``: the product's settings and URLs plus one bare
endpoint (the framework floor). Never part of the product; only the benchmark's server
subprocess loads it (``DJANGO_SETTINGS_MODULE=bench.cases_intake_site.settings``)."""
