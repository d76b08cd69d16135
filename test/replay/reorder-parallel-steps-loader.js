/**
 * Webpack loader for the negative replay test: rewrites placeOrder so that the two parallel steps inside
 * `Promise.allSettled([...])` are scheduled in the opposite order, an incompatible change that replay must catch.
 * Throws when the source no longer has that shape, so the negative test cannot pass vacuously.
 */
module.exports = function reorderParallelSteps(source) {
  const start = source.indexOf('Promise.allSettled([');
  if (start < 0) throw new Error('reorder loader: no Promise.allSettled([ in placeOrder');
  const open = start + 'Promise.allSettled('.length;
  let depth = 0;
  let close = -1;
  const entries = [];
  let entryStart = open + 1;
  for (let i = open; i < source.length; i += 1) {
    const char = source[i];
    if ('([{'.includes(char)) depth += 1;
    if (')]}'.includes(char)) {
      depth -= 1;
      if (depth === 0) {
        close = i;
        entries.push(source.slice(entryStart, i));
        break;
      }
    }
    if (char === ',' && depth === 1) {
      entries.push(source.slice(entryStart, i));
      entryStart = i + 1;
    }
  }
  const steps = entries.map((entry) => entry.trim()).filter(Boolean);
  if (close < 0 || steps.length !== 2)
    throw new Error(`reorder loader: expected two parallel steps, found ${steps.length}`);
  return `${source.slice(0, open + 1)}${steps.reverse().join(', ')}${source.slice(close)}`;
};
