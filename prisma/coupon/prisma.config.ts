import { defineServiceConfig } from '../migration-config';

export default defineServiceConfig('coupon', 'COUPON_DATABASE_URL');
