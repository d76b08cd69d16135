-- Status writes never go backwards: each write carries a sequence number, and a write that is not newer than the
-- stored one is ignored. Orders recorded before this column existed start at 0.
ALTER TABLE "orders" ADD COLUMN "progress_seq" BIGINT NOT NULL DEFAULT 0;

-- The reconciler looks for unfinished orders by status and age.
CREATE INDEX "orders_status_created_at_idx" ON "orders"("status", "created_at");
