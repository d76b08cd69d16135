/**
 * Webpack loader for the versioning test: keeps the `patched()` call of the running-steps change but ignores its
 * answer, so old executions would run the new branch too. Throws when the guard is not found, so the test cannot
 * pass vacuously.
 */
module.exports = function unguardPatch(source) {
  const guard = 'if (!patched(RECORD_RUNNING_STEPS_PATCH)) return;';
  if (!source.includes(guard)) throw new Error(`unguard loader: "${guard}" not found in placeOrder`);
  return source.replace(guard, 'patched(RECORD_RUNNING_STEPS_PATCH);');
};
