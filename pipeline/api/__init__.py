"""The JSON API's project-wide parts: the pipeline features' operations (`views.py`, routes in
`urls.py`), the token and user rate limits (`throttling.py`), the schema hooks (`schema.py`) and
the Swagger UI / Redoc pages (`docs.py`)."""
