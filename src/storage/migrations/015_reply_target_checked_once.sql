-- A reply's target is checked once, by the send batch (issue 9). The batch refuses a reply
-- whose target is not a message of the same conversation (invalid_reply, read after the
-- conversation's lock: src/storage/sql/send-batch-statements.ts), it is the only writer of
-- messages, and no message row is ever deleted (a delete leaves a tombstone). The foreign key
-- checked the same again through an after-trigger queued for every inserted message, reply
-- or not: 0.5-0.6 us of PostgreSQL's CPU a message at batches of 11, under 1% (npm run
-- bench:batch against the checkout before, ten rounds).
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_reply_to_fkey;
