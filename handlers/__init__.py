"""One module per spec tag; each function is the handler of one operation, named by its operationId
in snake_case (`getDashboard` is `handlers.dashboards.get_dashboard`), a name no other module of
the package defines (framework.HandlerResolver)."""

import warnings

# Connexion imports Starlette's test client at import time; its httpx notice means nothing here.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
