-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "statusCode" INTEGER,
    "error" TEXT,
    "durationMs" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "WebhookDelivery_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Job" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "prompt" TEXT NOT NULL,
    "negativePrompt" TEXT NOT NULL,
    "params" TEXT NOT NULL,
    "seed" BIGINT,
    "model" TEXT NOT NULL,
    "inputUploadId" TEXT,
    "phase" TEXT,
    "step" INTEGER NOT NULL DEFAULT 0,
    "totalSteps" INTEGER NOT NULL DEFAULT 0,
    "etaS" REAL,
    "error" TEXT,
    "timings" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "workerId" TEXT,
    "videoFile" TEXT,
    "posterFile" TEXT,
    "previewFile" TEXT,
    "retryOfId" TEXT,
    "priority" TEXT NOT NULL DEFAULT 'normal',
    "webhookUrl" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Job_inputUploadId_fkey" FOREIGN KEY ("inputUploadId") REFERENCES "Upload" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Job" ("attempts", "createdAt", "error", "etaS", "finishedAt", "id", "inputUploadId", "kind", "model", "negativePrompt", "params", "phase", "posterFile", "previewFile", "prompt", "retryOfId", "seed", "startedAt", "status", "step", "timings", "totalSteps", "updatedAt", "videoFile", "workerId") SELECT "attempts", "createdAt", "error", "etaS", "finishedAt", "id", "inputUploadId", "kind", "model", "negativePrompt", "params", "phase", "posterFile", "previewFile", "prompt", "retryOfId", "seed", "startedAt", "status", "step", "timings", "totalSteps", "updatedAt", "videoFile", "workerId" FROM "Job";
DROP TABLE "Job";
ALTER TABLE "new_Job" RENAME TO "Job";
CREATE INDEX "Job_createdAt_idx" ON "Job"("createdAt");
CREATE INDEX "Job_status_createdAt_idx" ON "Job"("status", "createdAt");
CREATE INDEX "Job_kind_createdAt_idx" ON "Job"("kind", "createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "WebhookDelivery_jobId_createdAt_idx" ON "WebhookDelivery"("jobId", "createdAt");

