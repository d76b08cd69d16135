/**
 * The shop's seed data (like the original's data.sql), loaded through each service's own module.
 * Idempotent: every record is looked up before it is created, so a restart adds nothing twice.
 */
import { seedAdminPassword } from '../../lib/config';
import type { CouponDb, ItemDb, UserDb } from '../../lib/databases';
import { createCouponService } from '../../services/coupon';
import { createItemService } from '../../services/item';
import { createUserService, type NewUser } from '../../services/user';

/** The demo customer of the contract's seed data (its password is the contract's, so only outside production). */
export const SEED_CUSTOMER: NewUser = {
  email: 'swcho@naver.com',
  password: '12345678',
  name: '성우',
  address: '노량진',
};

/** The development admin; its password is public (it is in the README), so it is never seeded in production. */
export const DEVELOPMENT_ADMIN_PASSWORD = 'admin-password-1234';

export const SEED_ADMIN: NewUser = {
  email: 'admin@example.com',
  password: seedAdminPassword(),
  name: '관리자',
  address: '본사',
  role: 'ADMIN',
};

/** A password seeded in production must be at least this long and none of the published ones. */
export const MIN_PRODUCTION_PASSWORD_LENGTH = 16;
const PUBLISHED_PASSWORDS = new Set([SEED_CUSTOMER.password, DEVELOPMENT_ADMIN_PASSWORD]);

export class WeakPasswordError extends Error {
  constructor(variable: string) {
    super(
      `${variable} is too weak for production: use at least ${MIN_PRODUCTION_PASSWORD_LENGTH} characters ` +
        'and not a password published in the README',
    );
    this.name = 'WeakPasswordError';
  }
}

/** Throws unless the password may guard an account of a production shop. */
export function assertProductionPassword(variable: string, password: string): void {
  if (password.length < MIN_PRODUCTION_PASSWORD_LENGTH || PUBLISHED_PASSWORDS.has(password)) {
    throw new WeakPasswordError(variable);
  }
}

/**
 * Which accounts the seed creates. Outside production: the contract's demo customer and the development admin.
 * In production (NODE_ENV=production) no account has a known password: each one is seeded only when its password
 * is configured (SEED_ADMIN_PASSWORD, SEED_CUSTOMER_PASSWORD) and strong; otherwise it is left out, and the first
 * admin is created with `npm run create-admin`.
 */
export function seedAccounts(env: NodeJS.ProcessEnv): { customer?: NewUser; admin?: NewUser } {
  if (env.NODE_ENV !== 'production') {
    return {
      customer: SEED_CUSTOMER,
      admin: { ...SEED_ADMIN, password: env.SEED_ADMIN_PASSWORD || DEVELOPMENT_ADMIN_PASSWORD },
    };
  }
  const accounts: { customer?: NewUser; admin?: NewUser } = {};
  if (env.SEED_CUSTOMER_PASSWORD) {
    assertProductionPassword('SEED_CUSTOMER_PASSWORD', env.SEED_CUSTOMER_PASSWORD);
    accounts.customer = { ...SEED_CUSTOMER, password: env.SEED_CUSTOMER_PASSWORD };
  }
  if (env.SEED_ADMIN_PASSWORD) {
    assertProductionPassword('SEED_ADMIN_PASSWORD', env.SEED_ADMIN_PASSWORD);
    accounts.admin = { ...SEED_ADMIN, password: env.SEED_ADMIN_PASSWORD };
  }
  return accounts;
}

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

export async function seed(
  { user, item, coupon }: SeedDatabases,
  accounts: { customer?: NewUser; admin?: NewUser } = seedAccounts(process.env),
): Promise<{ created: number }> {
  const users = createUserService(user);
  const items = createItemService(item);
  const coupons = createCouponService(coupon);
  let created = 0;

  async function account(wanted: NewUser) {
    const existing = await users.findByEmail(wanted.email);
    if (existing) return existing;
    created += 1;
    return users.register(wanted);
  }
  const customer = accounts.customer && (await account(accounts.customer));
  if (accounts.admin) await account(accounts.admin);

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
    if (!customer) continue; // the coupons are issued to the demo customer, when there is one
    const issued = await coupon.userCoupon.count({ where: { couponId: definition.id, userId: customer.id } });
    if (!issued) {
      await coupons.issueCoupon(definition.id, customer.id);
      created += 1;
    }
  }
  return { created };
}
