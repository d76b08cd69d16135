import { defineServiceConfig } from '../migration-config';

export default defineServiceConfig('item', 'ITEM_DATABASE_URL');
