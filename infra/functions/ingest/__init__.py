"""The ingest Lambda (``POST /metrics``): handler ``ingest.app.lambda_handler``.

Deployed with ``infra/functions`` as the Lambda root and installed with the project, so the
dashboard's local twin serves this very resolver code.
"""
