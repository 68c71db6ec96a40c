-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "batchId" TEXT,
ADD COLUMN     "batchIndex" INTEGER;

-- CreateIndex
CREATE INDEX "Job_batchId_batchIndex_idx" ON "Job"("batchId", "batchIndex");
