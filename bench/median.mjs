// The middle of a bench's rounds: each figure is the median round, not the best or the last.

/** The row with the median `key` (the lower of the two middle ones for an even count). */
export function middleBy(rows, key) {
  return [...rows].sort((x, y) => x[key] - y[key])[Math.floor((rows.length - 1) / 2)];
}

/** The median of numbers (the lower middle one for an even count); null for none. */
export function median(values) {
  if (values.length === 0) return null;
  return [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)];
}
