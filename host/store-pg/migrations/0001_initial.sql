-- weft on PostgreSQL: everything a weft node keeps, shared by every node.
-- Text keys use the "C" collation: byte order, as the embedded store sorts.

-- Small values the nodes share: the admin token's hash, the key check.
CREATE TABLE weft_meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- Each flow's current version; every version stays in flow_versions for the
-- runs that executed it (a deleted flow loses only its row here).
CREATE TABLE flows (
    name    text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL
);

CREATE TABLE flow_versions (
    name       text COLLATE "C" NOT NULL,
    version    bigint NOT NULL,
    updated_ms bigint NOT NULL,
    def        jsonb NOT NULL,
    PRIMARY KEY (name, version)
);

-- The database's clock, in ms since the epoch: leases are timed by it, so
-- the nodes' clocks need not agree.
CREATE FUNCTION weft_now_ms() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- Runs. `head` is the run's record without its event, rewritten at every
-- change of status; `event` is written once. The queue, the timers and the
-- listing of ended runs are columns of the run's row, each with a partial
-- index, so a run and its place in them always change together. A node
-- executing a run holds it under a lease (claimed_by, lease, lease_until)
-- that it renews; another node takes a queued run only when no lease holds it.
CREATE TABLE runs (
    id          text COLLATE "C" PRIMARY KEY,  -- time-ordered: key order is age order
    flow        text COLLATE "C" NOT NULL,
    status      text NOT NULL,
    test        boolean NOT NULL,
    created_ms  bigint NOT NULL,
    in_queue    boolean NOT NULL,              -- queued, or running
    wake_ms     bigint,                        -- waiting: when it wakes
    ended_class text,                          -- ended: 's' succeeded, 'f' failed or cancelled, 't' a test run
    ended_ms    bigint,                        -- ended: when
    origin      text,                          -- the node that created it (it runs it first)
    claimed_by  text,                          -- executing: the node that holds it
    lease       bigint,                        -- executing: the holder's token; its writes carry it
    lease_until bigint,                        -- executing: when the lease runs out (weft_now_ms)
    head        jsonb NOT NULL,
    event       jsonb NOT NULL
);
CREATE INDEX runs_queue ON runs (id) WHERE in_queue;
CREATE INDEX runs_timers ON runs (wake_ms) WHERE wake_ms IS NOT NULL;
CREATE INDEX runs_ended ON runs (flow, ended_class, ended_ms, id) WHERE ended_ms IS NOT NULL;
CREATE INDEX runs_by_flow ON runs (flow, id);
CREATE SEQUENCE lease_seq;

-- Step records: one per step path of a run; `seq` is the run's step order.
CREATE SEQUENCE step_seq;
CREATE TABLE steps (
    run_id text COLLATE "C" NOT NULL,
    path   text COLLATE "C" NOT NULL,
    seq    bigint NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (run_id, path)
);

-- Trigger records, with the webhook token ingress looks up.
CREATE TABLE triggers (
    flow       text COLLATE "C" PRIMARY KEY,
    hook_token text COLLATE "C" UNIQUE,
    record     jsonb NOT NULL
);

-- What a poll or a schedule remembers between runs: written in the same
-- transaction as the runs it creates.
CREATE TABLE poll_states (
    flow  text COLLATE "C" PRIMARY KEY,
    state jsonb NOT NULL
);

-- Which node polls or fires a flow now: one at a time, under a lease; the
-- tick's commit (its runs and new poll state) deletes the row it holds, and
-- is refused when the row is no longer its own.
CREATE TABLE trigger_ticks (
    flow        text COLLATE "C" PRIMARY KEY,
    node        text NOT NULL,
    lease       bigint NOT NULL,
    lease_until bigint NOT NULL
);

-- Plugins installed through any node: every version's bytes (runs finish on
-- the version they began with), and the changes of what is installed, in
-- order, which every node follows (`hash` NULL: the plugin was removed).
CREATE TABLE plugin_versions (
    hash      text COLLATE "C" PRIMARY KEY,
    name      text COLLATE "C" NOT NULL,
    bytes     bytea NOT NULL,
    stored_ms bigint NOT NULL
);

CREATE TABLE plugin_changes (
    seq  bigserial PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    hash text COLLATE "C"
);

-- The web UI's sign-in sessions, so a browser signed in through one node is
-- signed in on every node: the SHA-256 of the session id (never the id), its
-- CSRF token, and when it was last used.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    csrf         text NOT NULL,
    last_used_ms bigint NOT NULL
);

-- Connections: settings and grants in `record`, secrets sealed
-- (XChaCha20-Poly1305) under the nodes' key, which the database never sees.
CREATE TABLE connections (
    id     text COLLATE "C" PRIMARY KEY,
    plugin text NOT NULL,
    record jsonb NOT NULL,
    sealed bytea NOT NULL
);

-- Plugins' key-value namespaces, and what each holds as its quota counts it
-- (the usage row is locked by every write of its namespace).
CREATE TABLE kv (
    namespace bytea NOT NULL,
    key       text COLLATE "C" NOT NULL,
    value     bytea NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE kv_usage (
    namespace bytea PRIMARY KEY,
    bytes     bigint NOT NULL,
    keys      bigint NOT NULL
);
