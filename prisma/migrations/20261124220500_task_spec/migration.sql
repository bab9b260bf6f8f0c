-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "spec" JSONB;
