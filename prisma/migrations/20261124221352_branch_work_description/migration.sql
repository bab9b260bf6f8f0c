-- AlterTable
ALTER TABLE "branch_work" ADD COLUMN     "ticket_description" TEXT;
