"""The catalog as DCAT (W3C Data Catalog Vocabulary) JSON-LD."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yiwang.exchange.models import FREQUENCY_DAYS, Dataset

# Frequencies as the EU publications-office vocabulary names them.
_FREQ = {
    "realtime": "UPDATE_CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
assert set(_FREQ) == set(FREQUENCY_DAYS)


def catalog(datasets: Iterable[Dataset], base_url: str = "") -> dict[str, Any]:
    items = []
    for ds in datasets:
        items.append(
            {
                "@type": "dcat:Dataset",
                "@id": f"{base_url}/exchange/datasets/{ds.code}/",
                "dct:identifier": ds.code,
                "dct:title": ds.name,
                "dct:description": ds.description,
                "dct:publisher": {
                    "@type": "foaf:Organization",
                    "foaf:name": ds.owner.name,
                    "dct:identifier": ds.owner.code,
                },
                "dct:accrualPeriodicity": (
                    "http://publications.europa.eu/resource/authority/frequency/"
                    + _FREQ[ds.frequency]
                ),
                "dct:modified": ds.loaded_at.isoformat() if ds.loaded_at else None,
                "dcat:keyword": [k for k in ds.keywords.replace("，", ",").split(",") if k.strip()],
                "dct:accessRights": ds.share_type,
                "owl:versionInfo": str(ds.version),
                "dcat:distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "dcat:accessURL": f"{base_url}/api/v1/exchange/query/{ds.code}",
                        "dct:format": "application/json",
                        "dct:conformsTo": {
                            "@type": "dct:Standard",
                            "dct:title": "Frictionless Table Schema",
                            "yw:tableSchema": ds.schema,
                        },
                    }
                ],
            }
        )
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "owl": "http://www.w3.org/2002/07/owl#",
            "yw": "urn:yiwang:",
        },
        "@type": "dcat:Catalog",
        "dct:title": "Yiwang data catalog",
        "dcat:dataset": items,
    }
