-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "agent_id" TEXT,
ADD COLUMN     "conversation_dir" TEXT;
