-- CreateTable
CREATE TABLE "tasks" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "sandbox_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sandbox_sessions" (
    "id" TEXT NOT NULL,
    "sandbox_id" TEXT NOT NULL,
    "task_id" TEXT,
    "agent_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'starting',
    "restart_count" INTEGER NOT NULL DEFAULT 0,
    "last_heartbeat_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sandbox_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sandbox_events" (
    "id" BIGSERIAL NOT NULL,
    "entity_type" TEXT NOT NULL DEFAULT 'sandbox',
    "entity_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "source" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sandbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sandbox_messages" (
    "id" BIGSERIAL NOT NULL,
    "sandbox_id" TEXT NOT NULL,
    "message_type" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "sandbox_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "restart_events" (
    "id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "old_sandbox_id" TEXT NOT NULL,
    "new_sandbox_id" TEXT,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "restart_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "branch_work" (
    "id" TEXT NOT NULL,
    "ticket_id" TEXT NOT NULL,
    "task_id" TEXT,
    "repo" TEXT NOT NULL,
    "branch_name" TEXT NOT NULL,
    "base_branch" TEXT NOT NULL,
    "pr_number" INTEGER,
    "state" TEXT NOT NULL DEFAULT 'started',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "branch_work_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "tasks_sandbox_id_idx" ON "tasks"("sandbox_id");

-- CreateIndex
CREATE UNIQUE INDEX "sandbox_sessions_sandbox_id_key" ON "sandbox_sessions"("sandbox_id");

-- CreateIndex
CREATE INDEX "sandbox_sessions_task_id_idx" ON "sandbox_sessions"("task_id");

-- CreateIndex
CREATE INDEX "sandbox_sessions_status_idx" ON "sandbox_sessions"("status");

-- CreateIndex
CREATE INDEX "sandbox_events_entity_id_id_idx" ON "sandbox_events"("entity_id", "id");

-- CreateIndex
CREATE INDEX "sandbox_events_entity_type_id_idx" ON "sandbox_events"("entity_type", "id");

-- CreateIndex
CREATE UNIQUE INDEX "sandbox_messages_idempotency_key_key" ON "sandbox_messages"("idempotency_key");

-- CreateIndex
CREATE INDEX "sandbox_messages_sandbox_id_delivered_at_priority_id_idx" ON "sandbox_messages"("sandbox_id", "delivered_at", "priority", "id");

-- CreateIndex
CREATE INDEX "restart_events_task_id_created_at_idx" ON "restart_events"("task_id", "created_at");

-- CreateIndex
CREATE INDEX "branch_work_ticket_id_idx" ON "branch_work"("ticket_id");

-- CreateIndex
CREATE UNIQUE INDEX "branch_work_repo_branch_name_key" ON "branch_work"("repo", "branch_name");

-- AddForeignKey
ALTER TABLE "sandbox_sessions" ADD CONSTRAINT "sandbox_sessions_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "restart_events" ADD CONSTRAINT "restart_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "branch_work" ADD CONSTRAINT "branch_work_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE SET NULL ON UPDATE CASCADE;
