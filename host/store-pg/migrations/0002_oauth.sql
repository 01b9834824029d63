-- OAuth grants of connections: the client, the tokens and the state of an
-- authorization, sealed whole under the nodes' key. `version` makes every
-- change a compare-and-swap, so two nodes never both spend a refresh token.
CREATE TABLE oauth_grants (
    id      text COLLATE "C" PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    sealed  bytea NOT NULL
);
