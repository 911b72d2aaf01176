-- One single-row INSERT per transaction (autocommit), ~200 bytes of payload:
-- the floor of what a write through any layer over PostgreSQL costs
-- (deploy/README.md, "Capacity"). Table: see deploy/README.md.
\set r random(1, 1000000)
INSERT INTO bench (v, payload) VALUES (:r, repeat('x', 200));
