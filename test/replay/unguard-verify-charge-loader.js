/**
 * Webpack loader for the versioning test of the verify-charge change: keeps its `patched()` call but ignores the
 * answer, so executions charged before the change would have their charge answer checked too. Throws when the
 * guard is not found, so the test cannot pass vacuously.
 */
module.exports = function unguardVerifyCharge(source) {
  const guard = 'if (patched(VERIFY_CHARGE_PATCH)) verifyCharge(';
  if (!source.includes(guard)) throw new Error(`unguard loader: "${guard}" not found in placeOrder`);
  return source.replace(guard, 'patched(VERIFY_CHARGE_PATCH);\n      verifyCharge(');
};
