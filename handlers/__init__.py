"""One module per spec tag; each function is the handler of one operation, named by its operationId
in snake_case, in the module its x-openapi-router-controller names (`getDashboard` in
`handlers.dashboards` is `get_dashboard`)."""

import warnings

# Connexion imports Starlette's test client at import time; its httpx notice means nothing here.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
