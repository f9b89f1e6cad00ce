/**
 * `text` with every secret replaced by `***`: the last line of defence for messages that are
 * printed, logged or written to a report (the API key and tokens never appear in any output).
 * Values shorter than 4 characters are not secrets anyone set on purpose, and masking them would
 * garble every message.
 */
export function scrub(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}
