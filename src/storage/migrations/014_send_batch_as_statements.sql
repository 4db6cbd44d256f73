-- The send batch runs as statements (issue 9): src/storage/sql/send-batch-statements.ts,
-- the conversations' lock and then the batch, sent together under one Sync (one exchange,
-- one transaction). The plpgsql function did the same work and added its own: its settings
-- applied per call, plpgsql's executor, the answer copied into a tuplestore and read back
-- (perf: about 4% of the backend); 3.5 us of about 85 a message less at batches of 11
-- (npm run bench:batch, in turns of 50 batches: lower in 12 of 12 rounds).
DROP FUNCTION parley_send_batch(uuid[], text[], text[], uuid[], text[], text[], uuid[], text[], timestamptz[]);
