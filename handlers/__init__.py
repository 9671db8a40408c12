"""One module per spec tag; each function is an operationId of openapi.yaml."""

import warnings

# Connexion imports Starlette's test client at import time; its httpx notice means nothing here.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
