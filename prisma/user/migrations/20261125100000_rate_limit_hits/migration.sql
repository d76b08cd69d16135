-- The gateway's rate limit counts, shared by every gateway replica when RATE_LIMIT_STORE=postgres.
-- UNLOGGED: counts are worth nothing after a crash (they only ever hold back a client for one window), so they
-- skip the write-ahead log; PostgreSQL empties the table after a crash and it is not replicated.
-- CreateTable
CREATE UNLOGGED TABLE "rate_limit_hits" (
    "key" TEXT NOT NULL,
    "hits" INTEGER NOT NULL,
    "reset_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rate_limit_hits_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "rate_limit_hits_reset_at_idx" ON "rate_limit_hits"("reset_at");
