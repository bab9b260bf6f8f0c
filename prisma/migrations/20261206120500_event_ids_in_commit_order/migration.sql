-- Event ids in commit order. The id sequence handed out ids when a transaction started, so with several
-- writers a smaller id could become visible after a larger one and a reader resuming after the larger
-- one missed it. Ids now come from one counter row, updated in the inserting transaction itself: the
-- row lock is held until commit, so a writer draws its ids only after the previous writer committed.
-- When id N is visible, every smaller id that will ever exist is visible, and ids have no holes (a
-- rolled-back insert rolls back its draw too).

-- CreateTable
CREATE TABLE "sandbox_event_counter" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "last_id" BIGINT NOT NULL,

    CONSTRAINT "sandbox_event_counter_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sandbox_event_counter_one_row" CHECK ("id" = 1)
);

INSERT INTO "sandbox_event_counter" ("id", "last_id")
SELECT 1, GREATEST(
    COALESCE((SELECT max("id") FROM "sandbox_events"), 0),
    (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM "sandbox_events_id_seq")
);

-- One id, for inserts that do not draw their own (the event log draws a whole batch in one update).
CREATE FUNCTION "next_sandbox_event_id"() RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
    UPDATE "sandbox_event_counter" SET "last_id" = "last_id" + 1 WHERE "id" = 1 RETURNING "last_id"
$$;

-- AlterTable
ALTER TABLE "sandbox_events" ALTER COLUMN "id" SET DEFAULT "next_sandbox_event_id"();
DROP SEQUENCE "sandbox_events_id_seq";
