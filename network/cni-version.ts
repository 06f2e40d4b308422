/**
 * CNI specification versions berth can run. 0.3.x configurations are still common (many network
 * add-ons ship them), so they are accepted; they only lack CHECK and prevResult on DEL (spec 0.4.0).
 */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** Compares two "x.y.z" versions numerically: negative, zero or positive like a sort comparator. */
export function compareCniVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return 0;
}

/** Whether `version` is at least `minimum` (e.g. CHECK needs 0.4.0, STATUS and GC need 1.1.0). */
export function cniVersionAtLeast(version: string, minimum: string): boolean {
  return compareCniVersions(version, minimum) >= 0;
}

export function isSupportedCniVersion(version: string): boolean {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(version);
}

/**
 * The version to run a configuration at. Spec 1.1.0 lets a configuration list several versions in
 * `cniVersions`; the runtime must pick the highest one it supports ("Configuration format"). A plain
 * `cniVersion` must itself be supported. Throws a message naming what was offered.
 */
export function selectCniVersion(cniVersion: unknown, cniVersions: unknown): string {
  const offered: string[] = [];
  if (Array.isArray(cniVersions)) {
    for (const v of cniVersions) if (typeof v === 'string') offered.push(v);
  }
  if (typeof cniVersion === 'string' && cniVersion !== '') offered.push(cniVersion);
  if (offered.length === 0) throw new Error('missing "cniVersion"');
  const usable = offered.filter(isSupportedCniVersion).sort(compareCniVersions);
  if (usable.length === 0) {
    throw new Error(
      `unsupported CNI version ${offered.map((v) => `"${v}"`).join(', ')} (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`,
    );
  }
  return usable[usable.length - 1];
}

function parseVersion(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`"${version}" is not a CNI version`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
