/** Entry module of the workflow bundle: every workflow the `orders` worker runs. */
export { placeOrder } from './place-order';
export { cleanUpOrder } from './clean-up-order';
export { reconcileOrders } from './reconcile-orders';
