/** Now, in nanoseconds since the epoch as a decimal string: the CRI's int64 timestamps, kept exact. */
export function nowNanos(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}
