"""What the Files and Batch APIs keep: file and batch rows in PostgreSQL (with each batch's
finished lines, until its output files are written) and file contents in the object store.
The APIs (`files_api`, `batches`) and the batch runner read and write through here."""
