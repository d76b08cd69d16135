-- The gateway's rate limit counts, shared by every gateway replica when RATE_LIMIT_STORE=postgres.
-- UNLOGGED: a count is worth nothing after a crash (it only ever holds a client back for one window), so the
-- table skips the write-ahead log. PostgreSQL empties it after a crash and does not replicate it.
-- CreateTable
CREATE UNLOGGED TABLE "rate_limit_hits" (
    "key" TEXT NOT NULL,
    "hits" INTEGER NOT NULL,
    "reset_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rate_limit_hits_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "rate_limit_hits_reset_at_idx" ON "rate_limit_hits"("reset_at");
