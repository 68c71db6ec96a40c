-- Continue a clip: each part's previous part, the chain it belongs to, its position and the joined video.
-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "continuesJobId" TEXT,
ADD COLUMN     "chainRootId" TEXT,
ADD COLUMN     "chainPart" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "chainFile" TEXT;

-- CreateIndex
CREATE INDEX "Job_continuesJobId_idx" ON "Job"("continuesJobId");

-- CreateIndex
CREATE INDEX "Job_chainRootId_idx" ON "Job"("chainRootId");
