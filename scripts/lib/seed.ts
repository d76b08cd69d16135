/**
 * The shop's seed data (like the original's data.sql), loaded through each service's own module.
 * Idempotent: every record is looked up before it is created, so a restart adds nothing twice.
 */
import { seedAdminPassword } from '../../lib/config';
import type { CouponDb, ItemDb, UserDb } from '../../lib/databases';
import { createCouponService } from '../../services/coupon';
import { createItemService } from '../../services/item';
import { createUserService, type NewUser } from '../../services/user';

export const SEED_CUSTOMER: NewUser = {
  email: 'swcho@naver.com',
  password: '12345678',
  name: '성우',
  address: '노량진',
};

export const SEED_ADMIN: NewUser = {
  email: 'admin@example.com',
  password: seedAdminPassword(),
  name: '관리자',
  address: '본사',
  role: 'ADMIN',
};

const SWEATSHIRT = '초신사 스탠다드 블랙 스웨트 셔츠 오버 핏';
export const SEED_ITEMS = [
  { name: SWEATSHIRT, size: '90-S', price: 49800, stockQuantity: 1000 },
  { name: SWEATSHIRT, size: '100-M', price: 49800, stockQuantity: 1000 },
  { name: SWEATSHIRT, size: '110-L', price: 49800, stockQuantity: 1000 },
  { name: '드로우핏 네이비 발마칸 코트 세미 오버 핏', size: '-', price: 245000, stockQuantity: 200 },
];

export const SEED_COUPONS = [
  { name: '첫 가입 3,000원 할인 쿠폰', type: 'FIXED', discountAmount: 3000 },
  { name: '초신사 생일 15% 할인 쿠폰', type: 'RATIO', discountPercent: 15 },
] as const;

export interface SeedDatabases {
  user: UserDb;
  item: ItemDb;
  coupon: CouponDb;
}

export async function seed({ user, item, coupon }: SeedDatabases): Promise<{ created: number }> {
  const users = createUserService(user);
  const items = createItemService(item);
  const coupons = createCouponService(coupon);
  let created = 0;

  const accounts = [];
  for (const account of [SEED_CUSTOMER, SEED_ADMIN]) {
    const existing = await users.findByEmail(account.email);
    if (existing) accounts.push(existing);
    else {
      accounts.push(await users.register(account));
      created += 1;
    }
  }
  const customer = accounts[0]!;

  for (const seedItem of SEED_ITEMS) {
    const exists = await item.item.count({ where: { name: seedItem.name, size: seedItem.size } });
    if (!exists) {
      await items.createItem(seedItem);
      created += 1;
    }
  }

  for (const seedCoupon of SEED_COUPONS) {
    const definition =
      (await coupon.coupon.findFirst({ where: { name: seedCoupon.name }, orderBy: { id: 'asc' } })) ??
      (await coupons.createCoupon({ ...seedCoupon }));
    const issued = await coupon.userCoupon.count({ where: { couponId: definition.id, userId: customer.id } });
    if (!issued) {
      await coupons.issueCoupon(definition.id, customer.id);
      created += 1;
    }
  }
  return { created };
}
