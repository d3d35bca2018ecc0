"""HTTP test doubles for servers we cannot install: ChartMuseum, Harbor (≤2.7 and ≥2.8), a token service.

Each double is a real HTTP server on 127.0.0.1 that follows ``chart-repo-and-registry-apis.md``; the
Harbor token service signs JWTs a real distribution 2.8 ``docker-registry`` accepts.
"""

from tests.doubles.chartmuseum import (
    BearerAuth,
    ChartMuseumDouble,
    HttpDouble,
    LoggedRequest,
    Reply,
    Request,
    load_chart,
    make_chart_tgz,
)
from tests.doubles.harbor import HarborDouble, HarborProject
from tests.doubles.tokens import (
    HARBOR_ISSUER,
    HARBOR_SERVICE,
    ResourceScope,
    TokenSigner,
    libtrust_key_id,
    parse_scopes,
    registry_token_config,
)

__all__ = [
    "HARBOR_ISSUER",
    "HARBOR_SERVICE",
    "BearerAuth",
    "ChartMuseumDouble",
    "HarborDouble",
    "HarborProject",
    "HttpDouble",
    "LoggedRequest",
    "Reply",
    "Request",
    "ResourceScope",
    "TokenSigner",
    "libtrust_key_id",
    "load_chart",
    "make_chart_tgz",
    "parse_scopes",
    "registry_token_config",
]
