/** Free TCP ports on loopback, so tests never touch the fixed ports `npm start` uses. */
export { freePort } from '../../scripts/lib/ports';
