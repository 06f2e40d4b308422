import * as os from 'node:os';
import { run } from '../common/exec';

/** What a runtime binary says it supports (`<runtime> features`, runtime-spec features.md). */
export interface RuntimeFeatures {
  mountOptions: string[];
}

const asked = new Map<string, Promise<RuntimeFeatures>>();

/**
 * The features of a runtime binary, asked once per binary for the daemon's life. A runtime
 * without the command (or with a broken one) supports nothing beyond the basics.
 */
export function runtimeFeatures(binary: string): Promise<RuntimeFeatures> {
  let features = asked.get(binary);
  if (!features) {
    features = run(binary, ['features'], { timeoutMs: 10_000 }).then(
      ({ stdout }) => {
        const doc = JSON.parse(stdout) as { mountOptions?: unknown };
        const options = Array.isArray(doc.mountOptions) ? doc.mountOptions : [];
        return { mountOptions: options.filter((o): o is string => typeof o === 'string') };
      },
      () => ({ mountOptions: [] }),
    );
    asked.set(binary, features);
  }
  return features;
}

/** Recursive read-only mounts need mount_setattr(2) (Linux 5.12) and "rro" in the runtime. */
export async function supportsRecursiveReadOnly(binary: string): Promise<boolean> {
  const [major, minor] = os
    .release()
    .split('.')
    .map((n) => Number.parseInt(n, 10));
  const kernelHasIt = major > 5 || (major === 5 && minor >= 12);
  return kernelHasIt && (await runtimeFeatures(binary)).mountOptions.includes('rro');
}
