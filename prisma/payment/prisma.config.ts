import { defineServiceConfig } from '../migration-config';

export default defineServiceConfig('payment', 'PAYMENT_DATABASE_URL');
