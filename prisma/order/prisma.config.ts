import { defineServiceConfig } from '../migration-config';

export default defineServiceConfig('order', 'ORDER_DATABASE_URL');
