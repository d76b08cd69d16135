-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('RESERVED', 'RELEASED');

-- CreateTable
CREATE TABLE "items" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "size" TEXT NOT NULL,
    "price" INTEGER NOT NULL,
    "stock_quantity" INTEGER NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "items_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stock_reservations" (
    "order_id" TEXT NOT NULL,
    "status" "ReservationStatus" NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "stock_reservations_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "reserved_lines" (
    "order_id" TEXT NOT NULL,
    "item_id" INTEGER NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "reserved_lines_pkey" PRIMARY KEY ("order_id","item_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "items_name_size_key" ON "items"("name", "size");

-- AddForeignKey
ALTER TABLE "reserved_lines" ADD CONSTRAINT "reserved_lines_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "stock_reservations"("order_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reserved_lines" ADD CONSTRAINT "reserved_lines_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Stock can never go below zero, whatever the concurrency: the last line of defence behind the conditional decrement.
ALTER TABLE "items" ADD CONSTRAINT "items_stock_quantity_non_negative" CHECK ("stock_quantity" >= 0);
ALTER TABLE "items" ADD CONSTRAINT "items_price_non_negative" CHECK ("price" >= 0);
