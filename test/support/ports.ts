/** Free TCP ports on loopback, so tests never touch the fixed ports `npm start` uses. */
export { freeObservabilityPorts, freePort, observabilityPortsOff } from '../../scripts/lib/ports';
