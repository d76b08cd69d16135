/** Prisma clients, one per service database, all over the `pg` driver adapter (no native query engine). */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as CouponClient } from '../prisma/coupon/generated/client';
import { PrismaClient as ItemClient } from '../prisma/item/generated/client';
import { PrismaClient as OrderClient } from '../prisma/order/generated/client';
import { PrismaClient as PaymentClient } from '../prisma/payment/generated/client';
import { PrismaClient as UserClient } from '../prisma/user/generated/client';
import { databaseUrl } from './config';

export type UserDb = InstanceType<typeof UserClient>;
export type ItemDb = InstanceType<typeof ItemClient>;
export type CouponDb = InstanceType<typeof CouponClient>;
export type PaymentDb = InstanceType<typeof PaymentClient>;
export type OrderDb = InstanceType<typeof OrderClient>;

function adapter(connectionString: string): PrismaPg {
  return new PrismaPg({ connectionString, max: 10 });
}

export const connectUserDb = (url = databaseUrl('user')): UserDb => new UserClient({ adapter: adapter(url) });
export const connectItemDb = (url = databaseUrl('item')): ItemDb => new ItemClient({ adapter: adapter(url) });
export const connectCouponDb = (url = databaseUrl('coupon')): CouponDb => new CouponClient({ adapter: adapter(url) });
export const connectPaymentDb = (url = databaseUrl('payment')): PaymentDb =>
  new PaymentClient({ adapter: adapter(url) });
export const connectOrderDb = (url = databaseUrl('order')): OrderDb => new OrderClient({ adapter: adapter(url) });

/** True when a Prisma error is a unique-constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
