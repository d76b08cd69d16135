import { defineServiceConfig } from '../migration-config';

export default defineServiceConfig('user', 'USER_DATABASE_URL');
