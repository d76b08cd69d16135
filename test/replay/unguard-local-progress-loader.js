/**
 * Webpack loader for the versioning test of the local-progress-records change: keeps its `patched()` call but
 * ignores the answer, so executions that recorded their progress with regular activities would replay with local
 * ones. Throws when the guard is not found, so the test cannot pass vacuously.
 */
module.exports = function unguardLocalProgress(source) {
  const guard = 'return patched(LOCAL_PROGRESS_RECORDS_PATCH) && ';
  if (!source.includes(guard)) throw new Error(`unguard loader: "${guard}" not found in the saga`);
  return source.replace(guard, 'patched(LOCAL_PROGRESS_RECORDS_PATCH);\n    return ');
};
