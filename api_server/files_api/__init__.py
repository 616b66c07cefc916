"""OpenAI's Files API (`/v1/files`), for batch input files and the output files batches
write: upload (multipart, streamed to the object store), list, get, download, delete; each
caller sees only its own tenant's files."""
