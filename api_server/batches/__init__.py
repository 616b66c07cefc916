"""OpenAI's Batch API (`/v1/batches`): a JSONL file of requests run by the gateway itself,
at the lowest priority, into an output file and an error file in OpenAI's format.

router -> service (create, validate the input, get, list, cancel) -> batchstore; the
runner (started in the lifespan, one per gateway process) claims batches, runs their lines
through the same front-door services an HTTP request takes (`execute`), and finalizes them.
"""
