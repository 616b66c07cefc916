-- inferstack schema, version 3.
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

COMMIT;
