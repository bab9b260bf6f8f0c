-- AlterTable
ALTER TABLE "sandbox_sessions" ADD COLUMN     "task_events_cursor" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "cache_read_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "cache_write_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "cost_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "error_message" TEXT,
ADD COLUMN     "input_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "output_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "result" JSONB;

-- CreateTable
CREATE TABLE "task_event_effects" (
    "event_id" BIGINT NOT NULL,
    "task_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_event_effects_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "task_event_effects_task_id_idx" ON "task_event_effects"("task_id");

-- AddForeignKey
ALTER TABLE "task_event_effects" ADD CONSTRAINT "task_event_effects_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
