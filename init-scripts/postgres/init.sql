-- inferstack schema, version 6.
--
-- Applied inside the `inferstack` database by its owner: by the postgres image at its first
-- start in compose (docker-entrypoint-initdb.d), and by stackctl after every native start.
-- So every statement is idempotent. A later migration appends a block that runs only when its
-- version is missing from schema_migrations, and records it there.

BEGIN;

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Gateway API keys. The key itself is never stored: only its SHA-256 and a short prefix
-- shown in listings.
CREATE TABLE IF NOT EXISTS api_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    prefix     text NOT NULL,
    key_hash   text NOT NULL UNIQUE,
    models     text[],                      -- NULL: every model
    rpm        integer CHECK (rpm > 0),     -- requests per minute; NULL: no limit
    tpm        integer CHECK (tpm > 0),     -- tokens per minute; NULL: no limit
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- One row per request through the gateway, written in batches off the request path.
-- Deliberately free of CHECK constraints and foreign keys: a row the writer cannot insert
-- would be a lost row. Times are the gateway's; durations are milliseconds.
CREATE TABLE IF NOT EXISTS request_logs (
    id                text PRIMARY KEY,       -- the gateway's request id (X-Request-ID)
    received_at       timestamptz NOT NULL,
    first_token_at    timestamptz,
    finished_at       timestamptz,
    endpoint          text NOT NULL,          -- /v1/chat/completions, /v1/messages, ...
    api_flavour       text NOT NULL,          -- openai | anthropic
    model             text,                   -- the public model name
    engine            text,                   -- llamacpp | vllm | max | upstream
    replica           text,                   -- the engine URL that served it
    status_code       smallint,
    error_type        text,
    prompt_tokens     integer,
    completion_tokens integer,
    latency_ms        real,
    ttft_ms           real,
    stream            boolean NOT NULL DEFAULT false,
    cache_outcome     text,                   -- miss | exact | semantic
    api_key_id        uuid,                   -- api_keys.id; never the key
    tenant            text,                   -- key:<id> | jwt:<hash>; NULL: anonymous
    client_request_id text,                   -- the client's own id (X-Client-Request-Id)
    end_user          text,                   -- the request's `user` field
    session_id        text,
    client_addr       text,                   -- text, not inet: any peer string must insert
    archive_key       text                    -- object key of the archived payload
);

-- Listing by time (and cursor pagination on received_at, id), usage per day, and retention,
-- which deletes the oldest rows in batches.
CREATE INDEX IF NOT EXISTS request_logs_received_at_idx
    ON request_logs (received_at, id);
-- /v1/logs?model= and /v1/usage?group_by=model over a time range.
CREATE INDEX IF NOT EXISTS request_logs_model_received_at_idx
    ON request_logs (model, received_at);
-- /v1/usage?group_by=key: only requests that came with a key.
CREATE INDEX IF NOT EXISTS request_logs_api_key_received_at_idx
    ON request_logs (api_key_id, received_at) WHERE api_key_id IS NOT NULL;
-- /v1/logs?status=: errors are few, so a partial index keeps them cheap to find.
CREATE INDEX IF NOT EXISTS request_logs_errors_idx
    ON request_logs (status_code, received_at) WHERE status_code >= 400;
-- /v1/logs?session_id=: the requests of one conversation.
CREATE INDEX IF NOT EXISTS request_logs_session_received_at_idx
    ON request_logs (session_id, received_at) WHERE session_id IS NOT NULL;

INSERT INTO schema_migrations (version) VALUES (1) ON CONFLICT (version) DO NOTHING;

-- Version 2: whose row it is, and the client's own request id apart from ours (the id
-- used to be the client's X-Request-ID). A database of version 1 gains the columns here.
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS tenant text;
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS client_request_id text;
-- The logs API filters every query on the caller's tenant.
CREATE INDEX IF NOT EXISTS request_logs_tenant_received_at_idx
    ON request_logs (tenant, received_at, id);
-- /v1/logs?client_request_id=: a client finds its request by its own id.
CREATE INDEX IF NOT EXISTS request_logs_client_request_id_idx
    ON request_logs (client_request_id) WHERE client_request_id IS NOT NULL;
INSERT INTO schema_migrations (version) VALUES (2) ON CONFLICT (version) DO NOTHING;

-- Version 3: the agent run or trace a request is part of (X-Agent-ID / X-Trace-ID).
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS agent_id text;
-- /v1/logs?agent_id=: the requests of one agent run.
CREATE INDEX IF NOT EXISTS request_logs_agent_received_at_idx
    ON request_logs (agent_id, received_at) WHERE agent_id IS NOT NULL;
INSERT INTO schema_migrations (version) VALUES (3) ON CONFLICT (version) DO NOTHING;

-- Version 4: the Responses API's stored responses (POST /v1/responses, store: true), one row
-- per response, per tenant. A conversation is the chain of rows read back through
-- previous_response_id; depth and history_bytes bound it before it is read. Items are json,
-- not jsonb: kept as written (jsonb refuses a NUL character a model may write).
CREATE TABLE IF NOT EXISTS responses (
    tenant               text NOT NULL,     -- key:<id> | jwt:<hash> | admin; '' anonymous
    id                   text NOT NULL,     -- resp_...
    created_at           timestamptz NOT NULL,
    model                text NOT NULL,
    previous_response_id text,              -- the response it continues, the same tenant's
    depth                integer NOT NULL,  -- responses in its chain, itself included
    history_bytes        bigint NOT NULL,   -- the chain's items as JSON, in bytes
    input_items          json NOT NULL,     -- its own input items, with their ids
    output_items         json NOT NULL,
    response             json NOT NULL,     -- the Response object, less its output
    PRIMARY KEY (tenant, id)                -- every read is one tenant's
);
INSERT INTO schema_migrations (version) VALUES (4) ON CONFLICT (version) DO NOTHING;

-- Version 5: the Files and Batch APIs (api_server/batchstore). Owners are tenants
-- ('anonymous' for callers without one); the contents live in the object store.
-- api_server/batchstore/schema.py runs the same statements before their first use.
CREATE TABLE IF NOT EXISTS files (
    id         text PRIMARY KEY,             -- file-<hex>
    owner      text NOT NULL,
    purpose    text NOT NULL,                -- batch | batch_output
    filename   text NOT NULL,
    bytes      bigint NOT NULL,
    object_key text NOT NULL,                -- files/<owner digest>/<id>
    created_at timestamptz NOT NULL
);
-- GET /v1/files: a tenant's files, by time.
CREATE INDEX IF NOT EXISTS files_owner_created_at_idx ON files (owner, created_at, id);
CREATE TABLE IF NOT EXISTS batches (
    id                text PRIMARY KEY,      -- batch_<hex>
    owner             text NOT NULL,
    api_key_id        text,                  -- the creator's key, for its lines' log rows
    endpoint          text NOT NULL,
    model             text NOT NULL,         -- one model per batch
    input_file_id     text NOT NULL,
    input_object_key  text NOT NULL,
    completion_window text NOT NULL,
    status            text NOT NULL,         -- OpenAI's: validating, in_progress, ...
    metadata          jsonb,
    total             integer NOT NULL,
    completed         integer NOT NULL DEFAULT 0,
    failed            integer NOT NULL DEFAULT 0,
    input_tokens      bigint NOT NULL DEFAULT 0,
    output_tokens     bigint NOT NULL DEFAULT 0,
    output_file_id    text,
    error_file_id     text,
    errors            jsonb,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    in_progress_at    timestamptz,
    finalizing_at     timestamptz,
    completed_at      timestamptz,
    failed_at         timestamptz,
    expired_at        timestamptz,
    cancelling_at     timestamptz,
    cancelled_at      timestamptz,
    lease_owner       text,                  -- the runner working on it, until lease_until
    lease_until       timestamptz
);
-- GET /v1/batches: a tenant's batches, newest first.
CREATE INDEX IF NOT EXISTS batches_owner_created_at_idx ON batches (owner, created_at, id);
-- The runners' search for work.
CREATE INDEX IF NOT EXISTS batches_active_idx ON batches (created_at)
    WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
-- Each finished line of a running batch, its output-file line ready; a line with a row
-- here is never run again. Deleted when the batch's output files are written.
CREATE TABLE IF NOT EXISTS batch_lines (
    batch_id  text NOT NULL,
    line      integer NOT NULL,              -- 1-based line number in the input file
    custom_id text NOT NULL,
    ok        boolean NOT NULL,              -- a 2xx answer: the output file, else the error file
    output    bytea NOT NULL,
    PRIMARY KEY (batch_id, line)
);
INSERT INTO schema_migrations (version) VALUES (5) ON CONFLICT (version) DO NOTHING;

-- Version 6: a key's priority class in the gateway's admission queues (its requests'
-- default, and the highest they may ask for with X-Priority); NULL: normal.
-- api_server/auth/schema.py runs the same statements before the first key query.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS priority text
    CHECK (priority IN ('high', 'normal', 'low'));
INSERT INTO schema_migrations (version) VALUES (6) ON CONFLICT (version) DO NOTHING;

COMMIT;
