-- AlterTable
ALTER TABLE "Job" ADD COLUMN "resumedFromStep" INTEGER;
