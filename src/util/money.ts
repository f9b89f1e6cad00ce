/** Rounds to `places` decimals. */
export function roundTo(value: number, places: number): number {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale;
}

/**
 * Rounds a USD amount, so float noise stays out of files and reports. Reports and summaries use 4
 * places (a hundredth of a cent: batch-mode images cost $0.0195); prices 6; running token-cost
 * tallies 7, since one judge call costs a few hundredths of a cent.
 */
export function roundUsd(usd: number, places: 4 | 6 | 7 = 4): number {
  return roundTo(usd, places);
}
