-- AlterTable
ALTER TABLE "branch_work" ADD COLUMN     "base_sha" TEXT,
ADD COLUMN     "merge_sha" TEXT,
ADD COLUMN     "pr_url" TEXT,
ADD COLUMN     "ticket_title" TEXT;

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "ticket_id" TEXT;

-- CreateIndex
CREATE INDEX "tasks_ticket_id_idx" ON "tasks"("ticket_id");
