-- Continue a clip: each part's previous part, the chain it belongs to, its position and the joined video.
-- Plain ADD COLUMNs (no table rebuild), so this composes with other migrations that touch "Job".
-- AlterTable
ALTER TABLE "Job" ADD COLUMN "continuesJobId" TEXT;
ALTER TABLE "Job" ADD COLUMN "chainRootId" TEXT;
ALTER TABLE "Job" ADD COLUMN "chainPart" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "Job" ADD COLUMN "chainFile" TEXT;

-- CreateIndex
CREATE INDEX "Job_continuesJobId_idx" ON "Job"("continuesJobId");

-- CreateIndex
CREATE INDEX "Job_chainRootId_idx" ON "Job"("chainRootId");
